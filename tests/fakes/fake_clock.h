#pragma once
// A clock that moves only when the test says so.

#include <mutex>

#include "kite/base/clock.h"

namespace kite::testing {

class FakeClock final : public base::Clock {
 public:
  Monotonic now() const override {
    std::lock_guard lock(mutex_);
    return monotonic_;
  }
  Wall wallNow() const override {
    std::lock_guard lock(mutex_);
    return wall_;
  }
  void advance(std::chrono::steady_clock::duration by) {
    std::lock_guard lock(mutex_);
    monotonic_ += by;
    wall_ += std::chrono::duration_cast<std::chrono::system_clock::duration>(by);
  }

 private:
  mutable std::mutex mutex_;
  Monotonic monotonic_{std::chrono::hours(1000)};
  Wall wall_{std::chrono::sys_days{std::chrono::year{2026} / 1 / 1}};
};

}  // namespace kite::testing
