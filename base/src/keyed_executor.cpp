#include "kite/base/keyed_executor.h"

#include <exception>

namespace kite::base {

KeyedExecutor::KeyedExecutor(std::size_t threads) {
  threads_.reserve(threads);
  for (std::size_t i = 0; i < threads; ++i) threads_.emplace_back([this] { loop(); });
}

KeyedExecutor::~KeyedExecutor() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  threads_.clear();  // joins
}

void KeyedExecutor::submit(const std::string& key, std::function<void()> work) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    Slot& slot = slots_[key];
    slot.pending = std::move(work);
    if (slot.running || slot.queued) return;  // picked up when the current run ends
    slot.queued = true;
    ready_.push_back(key);
  }
  wake_.notify_one();
}

void KeyedExecutor::loop() {
  std::unique_lock lock(mutex_);
  while (true) {
    wake_.wait(lock, [this] { return stopping_ || !ready_.empty(); });
    if (stopping_) return;
    const std::string key = std::move(ready_.front());
    ready_.pop_front();
    Slot& slot = slots_[key];
    slot.queued = false;
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
    Slot& after = slots_[key];
    after.running = false;
    if (after.pending) {
      after.queued = true;
      ready_.push_back(key);
      wake_.notify_one();
    } else {
      slots_.erase(key);
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
