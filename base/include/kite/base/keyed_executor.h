#pragma once
// Runs work on a fixed pool of threads, serialized per key: two pieces of work
// for the same key never overlap, different keys run in parallel. Work
// submitted for a key that already has work waiting replaces it (the newest
// state wins), so a burst of updates for one pod costs one sync, not many.
// This is the kubelet's "a worker per pod" without a thread per pod.
//
// Work can be submitted as urgent. Besides the general threads (which take any
// work, oldest first) there may be threads that take only urgent work, so that
// a burst of it (the kubelet: many pods deleted at once, whose stops mostly
// wait on the runtime) does not queue behind the general bound, while the
// general work (starting pods) keeps the concurrency it was tuned for.

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
  enum class Lane { Normal, Urgent };

  explicit KeyedExecutor(std::size_t threads, std::size_t urgentOnlyThreads = 0);
  ~KeyedExecutor();  // finishes running work, drops what is still waiting
  KeyedExecutor(const KeyedExecutor&) = delete;
  KeyedExecutor& operator=(const KeyedExecutor&) = delete;

  // Urgent stays urgent while the key waits, even if newer work replacing it is not.
  void submit(const std::string& key, std::function<void()> work, Lane lane = Lane::Normal);
  // Blocks until nothing runs and nothing waits (for tests and shutdown).
  void waitIdle();
  bool busy(const std::string& key) const;

 private:
  struct Slot {
    bool running = false;
    bool queued = false;
    bool urgent = false;  // of the queued work
    std::optional<std::function<void()>> pending;
  };
  void loop(bool urgentOnly);
  // Puts a key whose slot has pending work on the ready queue; the lock is held.
  void enqueueLocked(const std::string& key, Slot& slot);
  // The next key this thread may run, taken off the ready queue; the lock is held.
  std::optional<std::string> takeLocked(bool urgentOnly);

  mutable std::mutex mutex_;
  std::condition_variable wake_;        // general threads: any work is ready
  std::condition_variable wakeUrgent_;  // urgent-only threads: urgent work is ready
  std::condition_variable idle_;
  std::map<std::string, Slot> slots_;
  std::deque<std::string> ready_;
  std::size_t urgentReady_ = 0;  // keys on ready_ whose work is urgent
  std::size_t running_ = 0;
  bool stopping_ = false;
  std::vector<std::jthread> threads_;
};

}  // namespace kite::base
