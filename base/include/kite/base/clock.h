#pragma once
// Time as a seam: back-off, probes, leases and restart decisions read the time
// through a Clock so tests can move it forward instead of sleeping.

#include <chrono>

namespace kite::base {

class Clock {
 public:
  using Monotonic = std::chrono::steady_clock::time_point;
  using Wall = std::chrono::system_clock::time_point;

  virtual ~Clock() = default;
  // For measuring intervals (back-off windows, probe periods, lease expiry).
  virtual Monotonic now() const = 0;
  // For timestamps users see (status startedAt, events, leases' renewTime).
  virtual Wall wallNow() const = 0;
};

class RealClock final : public Clock {
 public:
  Monotonic now() const override { return std::chrono::steady_clock::now(); }
  Wall wallNow() const override { return std::chrono::system_clock::now(); }
};

// The process-wide real clock, for code that is not handed one explicitly.
const Clock& realClock();

}  // namespace kite::base
