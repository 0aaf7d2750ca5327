#pragma once
// metav1.Time and metav1.MicroTime: an instant that may be unset. On the wire it is an
// RFC 3339 string in UTC (seconds for Time, microseconds for MicroTime) or null when unset.

#include <chrono>
#include <compare>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace kite::api {

class Time {
 public:
  using Clock = std::chrono::system_clock;
  using TimePoint = Clock::time_point;

  Time() = default;  // unset ("zero" upstream, null on the wire)
  explicit Time(TimePoint tp) : value_(tp) {}

  static Time now() { return Time(Clock::now()); }
  // Accepts RFC 3339 with optional fractional seconds and any UTC offset, e.g.
  // "2024-05-01T10:00:00Z", "2024-05-01T12:00:00.123456+02:00". Throws std::invalid_argument.
  static Time parse(std::string_view text);
  static std::optional<Time> tryParse(std::string_view text, std::string* error = nullptr);

  bool isZero() const { return !value_.has_value(); }
  const std::optional<TimePoint>& value() const { return value_; }
  // The instant, or the epoch when unset.
  TimePoint timePoint() const { return value_.value_or(TimePoint{}); }

  // "" when unset. Seconds precision, e.g. "2024-05-01T10:00:00Z".
  std::string rfc3339() const;
  // Six fractional digits, e.g. "2024-05-01T10:00:00.123456Z".
  std::string rfc3339Micro() const;
  // Up to nine fractional digits, trailing zeros dropped, e.g. "2024-05-01T10:00:00.5Z".
  std::string rfc3339Nano() const;

  bool operator==(const Time&) const = default;
  std::strong_ordering operator<=>(const Time& other) const {
    if (isZero() || other.isZero()) return other.isZero() <=> isZero();
    return *value_ <=> *other.value_;
  }

 private:
  std::optional<TimePoint> value_;
};

}  // namespace kite::api
