#include "kite/client/work_queue.h"

#include <algorithm>

namespace kite::client {

ExponentialRateLimiter::ExponentialRateLimiter(Duration base, Duration max)
    : base_(base), max_(max) {}

ExponentialRateLimiter::Duration ExponentialRateLimiter::when(const std::string& key) {
  std::lock_guard lock(mutex_);
  const int failures = failures_[key]++;
  // Doubling past the cap would overflow; stop early.
  Duration d = base_;
  for (int i = 0; i < failures && d < max_; ++i) d *= 2;
  return std::min(d, max_);
}

void ExponentialRateLimiter::forget(const std::string& key) {
  std::lock_guard lock(mutex_);
  failures_.erase(key);
}

int ExponentialRateLimiter::numRequeues(const std::string& key) const {
  std::lock_guard lock(mutex_);
  const auto it = failures_.find(key);
  return it == failures_.end() ? 0 : it->second;
}

WorkQueue::WorkQueue(Duration backoffBase, Duration backoffMax)
    : limiter_(backoffBase, backoffMax) {}

WorkQueue::~WorkQueue() { shutDown(); }

void WorkQueue::addLocked(const std::string& key) {
  if (shuttingDown_ || dirty_.contains(key)) return;
  dirty_.insert(key);
  // A key being processed goes back into the queue when done() is called.
  if (processing_.contains(key)) return;
  queue_.push_back(key);
  cv_.notify_one();
}

void WorkQueue::add(const std::string& key) {
  std::lock_guard lock(mutex_);
  addLocked(key);
}

void WorkQueue::addAfter(const std::string& key, Duration delay) {
  std::lock_guard lock(mutex_);
  if (shuttingDown_) return;
  if (delay <= Duration::zero()) {
    addLocked(key);
    return;
  }
  const auto at = std::chrono::steady_clock::now() + delay;
  if (const auto it = waitingAt_.find(key); it != waitingAt_.end()) {
    if (it->second <= at) return;  // already due earlier
    for (auto w = waiting_.lower_bound(it->second); w != waiting_.end() && w->first == it->second;
         ++w) {
      if (w->second == key) {
        waiting_.erase(w);
        break;
      }
    }
  }
  waiting_.emplace(at, key);
  waitingAt_[key] = at;
  // A getter may be sleeping until a later due time.
  cv_.notify_all();
}

void WorkQueue::addRateLimited(const std::string& key) { addAfter(key, limiter_.when(key)); }

void WorkQueue::forget(const std::string& key) { limiter_.forget(key); }

int WorkQueue::numRequeues(const std::string& key) const { return limiter_.numRequeues(key); }

void WorkQueue::promoteLocked(std::chrono::steady_clock::time_point now) {
  while (!waiting_.empty() && waiting_.begin()->first <= now) {
    const std::string key = waiting_.begin()->second;
    waiting_.erase(waiting_.begin());
    waitingAt_.erase(key);
    addLocked(key);
  }
}

std::optional<std::string> WorkQueue::take(
    std::unique_lock<std::mutex>& lock,
    std::optional<std::chrono::steady_clock::time_point> deadline) {
  for (;;) {
    if (shuttingDown_) return std::nullopt;
    const auto now = std::chrono::steady_clock::now();
    promoteLocked(now);
    if (!queue_.empty()) {
      std::string key = std::move(queue_.front());
      queue_.pop_front();
      dirty_.erase(key);
      processing_.insert(key);
      return key;
    }
    if (deadline && now >= *deadline) return std::nullopt;
    // Sleep until the next delayed key is due, the deadline, or a notification.
    std::optional<std::chrono::steady_clock::time_point> wake = deadline;
    if (!waiting_.empty() && (!wake || waiting_.begin()->first < *wake)) {
      wake = waiting_.begin()->first;
    }
    if (wake) {
      cv_.wait_until(lock, *wake);
    } else {
      cv_.wait(lock);
    }
  }
}

std::optional<std::string> WorkQueue::get() {
  std::unique_lock lock(mutex_);
  return take(lock, std::nullopt);
}

std::optional<std::string> WorkQueue::getFor(Duration timeout) {
  std::unique_lock lock(mutex_);
  return take(lock, std::chrono::steady_clock::now() + timeout);
}

void WorkQueue::done(const std::string& key) {
  std::lock_guard lock(mutex_);
  processing_.erase(key);
  if (dirty_.contains(key) && !shuttingDown_) {
    queue_.push_back(key);
    cv_.notify_one();
  }
}

std::size_t WorkQueue::len() const {
  std::lock_guard lock(mutex_);
  return queue_.size();
}

std::size_t WorkQueue::delayed() const {
  std::lock_guard lock(mutex_);
  return waiting_.size();
}

bool WorkQueue::processing(const std::string& key) const {
  std::lock_guard lock(mutex_);
  return processing_.contains(key);
}

void WorkQueue::shutDown() {
  std::lock_guard lock(mutex_);
  shuttingDown_ = true;
  cv_.notify_all();
}

bool WorkQueue::shuttingDown() const {
  std::lock_guard lock(mutex_);
  return shuttingDown_;
}

}  // namespace kite::client
