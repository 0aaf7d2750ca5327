#include "userspace_event_loop.h"

#include <spdlog/spdlog.h>
#include <sys/eventfd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <system_error>

namespace kite::proxy::userspace {

namespace {

[[noreturn]] void fail(const char* what) {
  throw std::system_error(errno, std::generic_category(), std::string("userspace proxy: ") + what);
}

constexpr int kMaxEvents = 256;

}  // namespace

EventLoop::EventLoop(std::chrono::milliseconds tick, std::function<void()> onTick)
    : tick_(tick),
      onTick_(std::move(onTick)),
      epoll_(epoll_create1(EPOLL_CLOEXEC)),
      wakeFd_(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
  if (!epoll_) fail("epoll_create1 failed");
  if (!wakeFd_) fail("eventfd failed");
  epoll_event event{};
  event.events = EPOLLIN;
  event.data.ptr = nullptr;  // the wake-up descriptor is the one without a handler
  if (epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, wakeFd_.get(), &event) != 0) fail("epoll_ctl failed");
  thread_ = std::thread([this] { loop(); });
  loopId_ = thread_.get_id();
}

EventLoop::~EventLoop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake();
  if (thread_.joinable()) thread_.join();
  adopted_.clear();
  graveyard_.clear();
}

void EventLoop::wake() {
  const std::uint64_t one = 1;
  // A full counter (never in practice) still wakes the loop.
  (void)!write(wakeFd_.get(), &one, sizeof(one));
}

void EventLoop::run(const std::function<void()>& task) {
  if (std::this_thread::get_id() == loopId_) {
    task();
    return;
  }
  Task item{&task, nullptr};
  std::unique_lock lock(mutex_);
  if (stopping_) throw std::logic_error("userspace proxy: event loop stopped");
  tasks_.push_back(&item);
  lock.unlock();
  wake();
  lock.lock();
  done_.wait(lock, [&] { return item.finished; });
  if (item.error) std::rethrow_exception(item.error);
}

void EventLoop::watch(int fd, std::uint32_t events, Handler* handler) {
  const auto it = watched_.find(fd);
  if (events == 0) {
    if (it != watched_.end()) unwatch(fd);
    return;
  }
  if (it != watched_.end() && it->second == events) return;
  epoll_event event{};
  event.events = events;
  event.data.ptr = handler;
  const int op = it == watched_.end() ? EPOLL_CTL_ADD : EPOLL_CTL_MOD;
  if (epoll_ctl(epoll_.get(), op, fd, &event) != 0) fail("epoll_ctl failed");
  watched_[fd] = events;
}

void EventLoop::unwatch(int fd) {
  if (watched_.erase(fd) == 0) return;
  epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr);
}

EventLoop::Handler* EventLoop::adopt(std::unique_ptr<Handler> handler) {
  Handler* raw = handler.get();
  adopted_.emplace(raw, std::move(handler));
  return raw;
}

void EventLoop::release(Handler* handler) {
  const auto it = adopted_.find(handler);
  if (it == adopted_.end()) return;
  auto owned = std::move(it->second);
  adopted_.erase(it);
  retire(std::move(owned));
}

void EventLoop::releaseAll() {
  while (!adopted_.empty()) release(adopted_.begin()->first);
}

void EventLoop::loop() {
  std::array<epoll_event, kMaxEvents> events{};
  auto nextTick = Clock::now() + tick_;
  while (true) {
    const auto wait =
        std::chrono::duration_cast<std::chrono::milliseconds>(nextTick - Clock::now()).count();
    const int n = epoll_wait(epoll_.get(), events.data(), kMaxEvents,
                             static_cast<int>(std::max<std::int64_t>(wait, 0)));
    if (n < 0 && errno != EINTR) {
      spdlog::error("userspace proxy: epoll_wait failed: {}", std::strerror(errno));
    }
    for (int i = 0; i < n; ++i) {
      auto* handler = static_cast<Handler*>(events.at(static_cast<std::size_t>(i)).data.ptr);
      if (handler == nullptr) {
        std::uint64_t count = 0;
        (void)!read(wakeFd_.get(), &count, sizeof(count));
        continue;
      }
      if (retired_.contains(handler)) continue;
      // One connection's failure must not stop the others.
      try {
        handler->onEvents(events.at(static_cast<std::size_t>(i)).events);
      } catch (const std::exception& e) {
        spdlog::warn("userspace proxy: {}", e.what());
      }
    }
    const auto now = Clock::now();
    if (now >= nextTick) {
      nextTick = now + tick_;
      try {
        if (onTick_) onTick_();
        // release() from a tick changes adopted_: walk a copy of the keys.
        std::vector<Handler*> owned;
        owned.reserve(adopted_.size());
        for (const auto& entry : adopted_) owned.push_back(entry.first);
        for (Handler* handler : owned) {
          if (!retired_.contains(handler)) handler->onTick(now);
        }
      } catch (const std::exception& e) {
        spdlog::warn("userspace proxy: {}", e.what());
      }
    }
    std::deque<Task*> tasks;
    bool stop = false;
    {
      std::lock_guard lock(mutex_);
      tasks.swap(tasks_);
      stop = stopping_;
    }
    for (Task* task : tasks) {
      try {
        (*task->fn)();
      } catch (...) {
        task->error = std::current_exception();
      }
      std::lock_guard lock(mutex_);
      task->finished = true;
    }
    if (!tasks.empty()) done_.notify_all();
    // Destructors may unwatch, never retire: the graveyard is moved out before it empties.
    auto dead = std::move(graveyard_);
    graveyard_.clear();
    dead.clear();
    retired_.clear();
    if (stop) return;
  }
}

}  // namespace kite::proxy::userspace
