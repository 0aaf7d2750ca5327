#pragma once
// Runs work on a fixed pool of threads, serialized per key: two pieces of work
// for the same key never overlap, different keys run in parallel. Work
// submitted for a key that already has work waiting replaces it (the newest
// state wins), so a burst of updates for one pod costs one sync, not many.
// This is the kubelet's "a worker per pod" without a thread per pod.

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace kite::base {

class KeyedExecutor {
 public:
  explicit KeyedExecutor(std::size_t threads);
  ~KeyedExecutor();  // finishes running work, drops what is still waiting
  KeyedExecutor(const KeyedExecutor&) = delete;
  KeyedExecutor& operator=(const KeyedExecutor&) = delete;

  void submit(const std::string& key, std::function<void()> work);
  // Blocks until nothing runs and nothing waits (for tests and shutdown).
  void waitIdle();
  bool busy(const std::string& key) const;

 private:
  struct Slot {
    bool running = false;
    bool queued = false;
    std::optional<std::function<void()>> pending;
  };
  void loop();

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable idle_;
  std::map<std::string, Slot> slots_;
  std::deque<std::string> ready_;
  std::size_t running_ = 0;
  bool stopping_ = false;
  std::vector<std::jthread> threads_;
};

}  // namespace kite::base
