#pragma once
// The userspace proxy's one event loop: a thread waiting in epoll for every listener and
// relayed connection, so thousands of connections cost no thread each. Everything the
// proxy owns is touched on this thread only; other threads hand it work through run(). The
// thread stays in the network namespace of the thread that made the loop, so every socket
// and netlink request of the proxy is made there.
//
// Handlers are never destroyed while the loop may still deliver an event to them: retire()
// keeps them alive until the end of the current round of events, and skips their events.

#include <sys/epoll.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <type_traits>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "userspace_fd.h"

namespace kite::proxy::userspace {

using Clock = std::chrono::steady_clock;

class EventLoop {
 public:
  class Handler {
   public:
    virtual ~Handler() = default;
    // Level-triggered epoll events of one of the handler's descriptors.
    virtual void onEvents(std::uint32_t events) = 0;
    // Every tick of the loop (timeouts), for handlers the loop owns (adopt()).
    virtual void onTick(Clock::time_point /*now*/) {}
  };

  // `onTick` runs on the loop thread every `tick`.
  EventLoop(std::chrono::milliseconds tick, std::function<void()> onTick);
  ~EventLoop();  // stops the thread; the owner must have cleared its handlers first (run())
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // Runs `task` on the loop thread and waits for it; rethrows what it threw. Called on the
  // loop thread, it runs at once.
  void run(const std::function<void()>& task);

  // Descriptor registration (loop thread only). events 0 removes it from the epoll set (an
  // idle descriptor must not report hang-ups in a busy loop); watch() again adds it back.
  void watch(int fd, std::uint32_t events, Handler* handler);
  void unwatch(int fd);

  // Handlers the loop owns (relayed connections): kept until release(), or releaseAll().
  Handler* adopt(std::unique_ptr<Handler> handler);
  void release(Handler* handler);
  void releaseAll();
  std::size_t adopted() const { return adopted_.size(); }

  // Destroys `object` after this round of events; a handler's pending events are dropped.
  template <typename T>
  void retire(std::unique_ptr<T> object) {
    if (!object) return;
    if constexpr (std::is_base_of_v<Handler, T>) retired_.insert(object.get());
    graveyard_.push_back(std::shared_ptr<void>(std::move(object)));
  }

 private:
  void loop();
  void wake();

  std::chrono::milliseconds tick_;
  std::function<void()> onTick_;
  UniqueFd epoll_;
  UniqueFd wakeFd_;
  std::unordered_map<int, std::uint32_t> watched_;
  std::unordered_map<Handler*, std::unique_ptr<Handler>> adopted_;
  std::unordered_set<const void*> retired_;
  std::vector<std::shared_ptr<void>> graveyard_;

  std::mutex mutex_;
  std::condition_variable done_;
  struct Task {
    const std::function<void()>* fn;
    std::exception_ptr error;
    bool finished = false;
  };
  std::deque<Task*> tasks_;
  bool stopping_ = false;
  std::thread::id loopId_;
  std::thread thread_;
};

}  // namespace kite::proxy::userspace
