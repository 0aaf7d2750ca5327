#include "kite/base/keyed_executor.h"

#include <algorithm>
#include <exception>

namespace kite::base {

KeyedExecutor::KeyedExecutor(std::size_t threads, std::size_t urgentOnlyThreads) {
  threads_.reserve(threads + urgentOnlyThreads);
  for (std::size_t i = 0; i < threads; ++i) threads_.emplace_back([this] { loop(false); });
  for (std::size_t i = 0; i < urgentOnlyThreads; ++i) {
    threads_.emplace_back([this] { loop(true); });
  }
}

KeyedExecutor::~KeyedExecutor() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  wakeUrgent_.notify_all();
  threads_.clear();  // joins
}

void KeyedExecutor::submit(const std::string& key, std::function<void()> work, Lane lane) {
  std::lock_guard lock(mutex_);
  if (stopping_) return;
  Slot& slot = slots_[key];
  slot.pending = std::move(work);
  const bool urgent = lane == Lane::Urgent;
  if (slot.queued) {
    if (urgent && !slot.urgent) {  // already waiting: it becomes urgent work
      slot.urgent = true;
      ++urgentReady_;
      wakeUrgent_.notify_one();
    }
    return;
  }
  slot.urgent = slot.urgent || urgent;
  if (slot.running) return;  // queued when the current run ends
  enqueueLocked(key, slot);
}

void KeyedExecutor::enqueueLocked(const std::string& key, Slot& slot) {
  slot.queued = true;
  ready_.push_back(key);
  wake_.notify_one();
  if (slot.urgent) {
    ++urgentReady_;
    wakeUrgent_.notify_one();
  }
}

std::optional<std::string> KeyedExecutor::takeLocked(bool urgentOnly) {
  auto it = ready_.begin();
  if (urgentOnly) {
    it = std::find_if(ready_.begin(), ready_.end(),
                      [this](const std::string& key) { return slots_.at(key).urgent; });
  }
  if (it == ready_.end()) return std::nullopt;
  std::string key = std::move(*it);
  ready_.erase(it);
  return key;
}

void KeyedExecutor::loop(bool urgentOnly) {
  std::unique_lock lock(mutex_);
  while (true) {
    if (urgentOnly) {
      wakeUrgent_.wait(lock, [this] { return stopping_ || urgentReady_ > 0; });
    } else {
      wake_.wait(lock, [this] { return stopping_ || !ready_.empty(); });
    }
    if (stopping_) return;
    const auto key = takeLocked(urgentOnly);
    if (!key) continue;
    Slot& slot = slots_.at(*key);
    if (slot.urgent) --urgentReady_;
    slot.queued = false;
    slot.urgent = false;
    slot.running = true;
    auto work = std::move(*slot.pending);
    slot.pending.reset();
    ++running_;
    lock.unlock();
    try {
      work();
    } catch (...) {
      // Work reports its own errors; one failing sync must not kill a worker.
    }
    lock.lock();
    --running_;
    Slot& after = slots_.at(*key);
    after.running = false;
    if (after.pending) {
      enqueueLocked(*key, after);
    } else {
      slots_.erase(*key);
    }
    if (running_ == 0 && ready_.empty()) idle_.notify_all();
  }
}

void KeyedExecutor::waitIdle() {
  std::unique_lock lock(mutex_);
  idle_.wait(lock, [this] { return running_ == 0 && ready_.empty(); });
}

bool KeyedExecutor::busy(const std::string& key) const {
  std::lock_guard lock(mutex_);
  return slots_.contains(key);
}

}  // namespace kite::base
