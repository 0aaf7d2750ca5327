// activeQ / backoffQ / unschedulable pods, as upstream's PriorityQueue.
#include "kite/controlplane/scheduler/scheduling_queue.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "kite/api/meta.h"

namespace kite::controlplane::scheduler {

namespace {

std::int64_t priorityOf(const api::core::v1::Pod& pod) { return pod.spec.priority.value_or(0); }

// Whether an update may change the scheduling outcome (status-only updates do not).
bool schedulingRelevant(const api::core::v1::Pod& a, const api::core::v1::Pod& b) {
  return a.spec != b.spec || a.metadata.labels != b.metadata.labels;
}

}  // namespace

SchedulingQueue::SchedulingQueue(Duration initialBackoff, Duration maxBackoff,
                                 Duration maxUnschedulable)
    : initialBackoff_(initialBackoff),
      maxBackoff_(maxBackoff),
      maxUnschedulable_(maxUnschedulable) {}

void SchedulingQueue::add(std::shared_ptr<const api::core::v1::Pod> pod) {
  std::string key = api::fullName(pod->metadata);
  std::lock_guard lock(mutex_);
  if (closed_) return;
  if (auto it = entries_.find(key); it != entries_.end()) {
    it->second.info.pod = std::move(pod);
    return;
  }
  Entry& e = entries_[key];
  e.info.pod = std::move(pod);
  e.info.key = std::move(key);
  toActiveLocked(e, Clock::now());
  cv_.notify_one();
}

void SchedulingQueue::update(std::shared_ptr<const api::core::v1::Pod> pod) {
  const std::string key = api::fullName(pod->metadata);
  std::lock_guard lock(mutex_);
  if (closed_) return;
  const auto it = entries_.find(key);
  if (it == entries_.end()) {
    Entry& e = entries_[key];
    e.info.pod = std::move(pod);
    e.info.key = key;
    toActiveLocked(e, Clock::now());
    cv_.notify_one();
    return;
  }
  Entry& e = it->second;
  const bool relevant = schedulingRelevant(*e.info.pod, *pod);
  e.info.pod = std::move(pod);
  if (!relevant) return;
  if (e.where == Where::InFlight) {
    e.changedInFlight = true;
  } else if (e.where == Where::Unschedulable) {
    detachLocked(e);
    if (backoffExpiryLocked(e) > Clock::now()) {
      toBackoffLocked(e);
    } else {
      toActiveLocked(e, Clock::now());
    }
    cv_.notify_one();
  }
}

void SchedulingQueue::remove(const std::string& key) {
  std::lock_guard lock(mutex_);
  const auto it = entries_.find(key);
  if (it == entries_.end()) return;
  detachLocked(it->second);
  entries_.erase(it);
}

void SchedulingQueue::detachLocked(Entry& e) {
  switch (e.where) {
    case Where::Active:
      active_.erase(e.activeKey);
      break;
    case Where::Backoff:
      for (auto [lo, hi] = backoff_.equal_range(backoffExpiryLocked(e)); lo != hi; ++lo) {
        if (lo->second == e.info.key) {
          backoff_.erase(lo);
          break;
        }
      }
      break;
    case Where::Unschedulable:
      unschedulable_.erase(e.info.key);
      break;
    case Where::InFlight:
      break;
  }
}

void SchedulingQueue::toActiveLocked(Entry& e, Clock::time_point now) {
  e.where = Where::Active;
  e.activeKey = {-priorityOf(*e.info.pod), now, sequence_++, e.info.key};
  active_.insert(e.activeKey);
}

void SchedulingQueue::toBackoffLocked(Entry& e) {
  e.where = Where::Backoff;
  backoff_.emplace(backoffExpiryLocked(e), e.info.key);
}

SchedulingQueue::Clock::time_point SchedulingQueue::backoffExpiryLocked(const Entry& e) const {
  Duration d = initialBackoff_;
  for (int i = 1; i < e.info.attempts && d < maxBackoff_; ++i) d *= 2;
  return e.lastFailure + std::min(d, maxBackoff_);
}

void SchedulingQueue::flushLocked(Clock::time_point now) {
  while (!backoff_.empty() && backoff_.begin()->first <= now) {
    const std::string key = backoff_.begin()->second;
    backoff_.erase(backoff_.begin());
    if (auto it = entries_.find(key); it != entries_.end()) toActiveLocked(it->second, now);
  }
  if (now - lastUnschedulableFlush_ < std::chrono::seconds(1)) return;
  lastUnschedulableFlush_ = now;
  std::vector<std::string> stale;
  for (const auto& key : unschedulable_) {
    if (now - entries_.at(key).unschedulableSince >= maxUnschedulable_) stale.push_back(key);
  }
  for (const auto& key : stale) {
    Entry& e = entries_.at(key);
    unschedulable_.erase(key);
    if (backoffExpiryLocked(e) > now) {
      toBackoffLocked(e);
    } else {
      toActiveLocked(e, now);
    }
  }
}

std::optional<SchedulingQueue::QueuedPod> SchedulingQueue::pop(Duration timeout) {
  const auto deadline = Clock::now() + timeout;
  std::unique_lock lock(mutex_);
  while (!closed_) {
    const auto now = Clock::now();
    flushLocked(now);
    if (!active_.empty()) {
      const ActiveKey first = *active_.begin();
      active_.erase(active_.begin());
      Entry& e = entries_.at(std::get<3>(first));
      e.where = Where::InFlight;
      e.changedInFlight = false;
      ++e.info.attempts;
      e.info.cycle = ++schedulingCycle_;
      return e.info;
    }
    if (now >= deadline) return std::nullopt;
    auto wake = std::min(deadline, now + std::chrono::seconds(1));
    if (!backoff_.empty()) wake = std::min(wake, backoff_.begin()->first);
    cv_.wait_until(lock, wake);
  }
  return std::nullopt;
}

void SchedulingQueue::done(const std::string& key) {
  std::lock_guard lock(mutex_);
  const auto it = entries_.find(key);
  if (it != entries_.end() && it->second.where == Where::InFlight) entries_.erase(it);
}

void SchedulingQueue::requeueLocked(const QueuedPod& pod, bool unschedulable) {
  const auto it = entries_.find(pod.key);
  if (it == entries_.end() || closed_) return;  // deleted meanwhile
  Entry& e = it->second;
  if (e.where != Where::InFlight) detachLocked(e);
  e.info.attempts = pod.attempts;
  e.lastFailure = Clock::now();
  const bool moved = moveRequestCycle_ >= pod.cycle || e.changedInFlight;
  if (unschedulable && !moved) {
    e.where = Where::Unschedulable;
    e.unschedulableSince = e.lastFailure;
    unschedulable_.insert(e.info.key);
  } else {
    toBackoffLocked(e);
  }
  cv_.notify_one();
}

void SchedulingQueue::addUnschedulable(const QueuedPod& pod) {
  std::lock_guard lock(mutex_);
  requeueLocked(pod, true);
}

void SchedulingQueue::addBackoff(const QueuedPod& pod) {
  std::lock_guard lock(mutex_);
  requeueLocked(pod, false);
}

void SchedulingQueue::moveAllToActiveOrBackoff(
    const std::function<bool(const api::core::v1::Pod&)>& accept) {
  std::lock_guard lock(mutex_);
  const auto now = Clock::now();
  std::vector<std::string> keys;
  for (const auto& key : unschedulable_) {
    if (!accept || accept(*entries_.at(key).info.pod)) keys.push_back(key);
  }
  for (const auto& key : keys) {
    Entry& e = entries_.at(key);
    unschedulable_.erase(key);
    if (backoffExpiryLocked(e) > now) {
      toBackoffLocked(e);
    } else {
      toActiveLocked(e, now);
    }
  }
  moveRequestCycle_ = schedulingCycle_;
  cv_.notify_all();
}

void SchedulingQueue::close() {
  std::lock_guard lock(mutex_);
  closed_ = true;
  cv_.notify_all();
}

std::size_t SchedulingQueue::activeCount() const {
  std::lock_guard lock(mutex_);
  return active_.size();
}
std::size_t SchedulingQueue::backoffCount() const {
  std::lock_guard lock(mutex_);
  return backoff_.size();
}
std::size_t SchedulingQueue::unschedulableCount() const {
  std::lock_guard lock(mutex_);
  return unschedulable_.size();
}
bool SchedulingQueue::contains(const std::string& key) const {
  std::lock_guard lock(mutex_);
  return entries_.contains(key);
}

}  // namespace kite::controlplane::scheduler
