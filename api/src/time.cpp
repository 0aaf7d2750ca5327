#include "kite/api/time.h"

#include <array>
#include <cstdint>
#include <cstdio>

namespace kite::api {
namespace {

using Nanos = std::chrono::nanoseconds;

// The nanosecond system clock covers 1677-09-21 .. 2262-04-11; be conservative.
constexpr int kMinYear = 1678;
constexpr int kMaxYear = 2261;

bool digits(std::string_view s, std::size_t pos, std::size_t n, int& out) {
  if (pos + n > s.size()) return false;
  out = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    out = out * 10 + (s[i] - '0');
  }
  return true;
}

std::string format(const Time& t, int fractionDigits, bool trimZeros) {
  if (t.isZero()) return "";
  const auto tp = std::chrono::time_point_cast<Nanos>(t.timePoint());
  const auto day = std::chrono::floor<std::chrono::days>(tp);
  const std::chrono::year_month_day ymd(day);
  const auto sinceMidnight = tp - day;
  const auto secs = std::chrono::duration_cast<std::chrono::seconds>(sinceMidnight);
  const auto nanos = (sinceMidnight - secs).count();
  const std::chrono::hh_mm_ss<std::chrono::seconds> hms(secs);
  std::array<char, 64> buf{};
  int n = std::snprintf(buf.data(), buf.size(), "%04d-%02u-%02uT%02d:%02d:%02d",
                        static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                        static_cast<unsigned>(ymd.day()), static_cast<int>(hms.hours().count()),
                        static_cast<int>(hms.minutes().count()),
                        static_cast<int>(hms.seconds().count()));
  std::string out(buf.data(), static_cast<std::size_t>(n));
  if (fractionDigits > 0) {
    n = std::snprintf(buf.data(), buf.size(), "%09lld", static_cast<long long>(nanos));
    std::string frac(buf.data(), static_cast<std::size_t>(n));
    frac.resize(static_cast<std::size_t>(fractionDigits));
    if (trimZeros) {
      while (!frac.empty() && frac.back() == '0') frac.pop_back();
    }
    if (!frac.empty()) out += "." + frac;
  }
  out += "Z";
  return out;
}

}  // namespace

std::optional<Time> Time::tryParse(std::string_view s, std::string* error) {
  auto fail = [&](const std::string& why) -> std::optional<Time> {
    if (error != nullptr) {
      *error = "parsing time \"" + std::string(s) + "\" as RFC 3339: " + why;
    }
    return std::nullopt;
  };
  int year = 0;
  int month = 0;
  int day = 0;
  int hour = 0;
  int minute = 0;
  int second = 0;
  if (!digits(s, 0, 4, year) || s.size() < 20 || s[4] != '-' || !digits(s, 5, 2, month) ||
      s[7] != '-' || !digits(s, 8, 2, day) || (s[10] != 'T' && s[10] != 't') ||
      !digits(s, 11, 2, hour) || s[13] != ':' || !digits(s, 14, 2, minute) || s[16] != ':' ||
      !digits(s, 17, 2, second)) {
    return fail("expected YYYY-MM-DDTHH:MM:SS followed by Z or an offset");
  }
  std::size_t pos = 19;
  int64_t nanos = 0;
  if (s[pos] == '.' || s[pos] == ',') {
    ++pos;
    const std::size_t start = pos;
    int64_t scale = 100000000;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      nanos += (s[pos] - '0') * scale;
      scale /= 10;
      ++pos;
    }
    if (pos == start) return fail("missing fractional seconds");
  }
  int offsetMinutes = 0;
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    int oh = 0;
    int om = 0;
    if (!digits(s, pos + 1, 2, oh) || pos + 3 >= s.size() || s[pos + 3] != ':' ||
        !digits(s, pos + 4, 2, om) || oh > 23 || om > 59) {
      return fail("bad UTC offset");
    }
    offsetMinutes = (oh * 60 + om) * (s[pos] == '-' ? -1 : 1);
    pos += 6;
  } else {
    return fail("missing Z or UTC offset");
  }
  if (pos != s.size()) return fail("extra text after the time");
  const std::chrono::year_month_day ymd{std::chrono::year(year), std::chrono::month(month),
                                        std::chrono::day(day)};
  if (!ymd.ok()) return fail("day or month out of range");
  if (hour > 23 || minute > 59 || second > 59) return fail("hour, minute or second out of range");
  if (year < kMinYear || year > kMaxYear) return fail("year out of the supported range");
  const auto tp = std::chrono::sys_days(ymd) + std::chrono::hours(hour) +
                  std::chrono::minutes(minute - offsetMinutes) + std::chrono::seconds(second) +
                  Nanos(nanos);
  return Time(std::chrono::time_point_cast<Clock::duration>(tp));
}

Time Time::parse(std::string_view text) {
  std::string error;
  auto t = tryParse(text, &error);
  if (!t) throw std::invalid_argument(error);
  return *t;
}

std::string Time::rfc3339() const { return format(*this, 0, false); }

std::string Time::rfc3339Micro() const { return format(*this, 6, false); }

std::string Time::rfc3339Nano() const { return format(*this, 9, true); }

}  // namespace kite::api
