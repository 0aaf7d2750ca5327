#include "workload_cron.h"

#include <array>
#include <stdexcept>
#include <vector>

namespace kite::controlplane::controllers {
namespace {

using namespace std::chrono;

constexpr std::array<std::string_view, 12> kMonthNames = {"jan", "feb", "mar", "apr", "may", "jun",
                                                          "jul", "aug", "sep", "oct", "nov", "dec"};
constexpr std::array<std::string_view, 7> kDayNames = {"sun", "mon", "tue", "wed",
                                                       "thu", "fri", "sat"};

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  while (true) {
    const auto pos = s.find(sep, start);
    out.push_back(s.substr(start, pos == std::string_view::npos ? pos : pos - start));
    if (pos == std::string_view::npos) break;
    start = pos + 1;
  }
  return out;
}

struct Field {
  std::string_view name;
  int min;
  int max;
  const std::string_view* names;  // names[0] stands for min, or nullptr
  std::size_t nameCount;
};

int number(std::string_view text, const Field& f) {
  std::string lower(text);
  for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (std::size_t i = 0; i < f.nameCount; ++i) {
    if (lower == f.names[i]) return f.min + static_cast<int>(i);
  }
  if (text.empty() || text.size() > 4) {
    throw std::invalid_argument("failed to parse int from " + std::string(text));
  }
  int n = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') {
      throw std::invalid_argument("failed to parse int from " + std::string(text));
    }
    n = n * 10 + (c - '0');
  }
  return n;
}

// Sets the bits of one field ("*/5", "1-10/2", "mon,wed"); returns whether it was a star.
template <std::size_t N>
bool parseField(std::string_view text, const Field& f, std::bitset<N>& bits) {
  bool star = false;
  for (const auto part : split(text, ',')) {
    const auto slash = split(part, '/');
    if (slash.size() > 2) throw std::invalid_argument("too many slashes: " + std::string(part));
    int lo = 0;
    int hi = 0;
    const auto range = split(slash[0], '-');
    if (slash[0] == "*" || slash[0] == "?") {
      lo = f.min;
      hi = f.max;
      star = slash.size() == 1;
    } else if (range.size() == 1) {
      lo = hi = number(range[0], f);
      if (slash.size() == 2) hi = f.max;  // "a/n": from a to the end
    } else if (range.size() == 2) {
      lo = number(range[0], f);
      hi = number(range[1], f);
    } else {
      throw std::invalid_argument("too many hyphens: " + std::string(part));
    }
    const int step = slash.size() == 2 ? number(slash[1], f) : 1;
    if (lo < f.min) {
      throw std::invalid_argument("beginning of range (" + std::to_string(lo) +
                                  ") below minimum (" + std::to_string(f.min) +
                                  "): " + std::string(part));
    }
    if (hi > f.max) {
      throw std::invalid_argument("end of range (" + std::to_string(hi) + ") above maximum (" +
                                  std::to_string(f.max) + "): " + std::string(part));
    }
    if (lo > hi) {
      throw std::invalid_argument("beginning of range (" + std::to_string(lo) +
                                  ") beyond end of range (" + std::to_string(hi) +
                                  "): " + std::string(part));
    }
    if (step <= 0) {
      throw std::invalid_argument("step of range should be a positive number: " +
                                  std::string(part));
    }
    for (int v = lo; v <= hi; v += step) bits.set(static_cast<std::size_t>(v));
  }
  return star;
}

std::string_view expandDescriptor(std::string_view spec) {
  if (spec == "@yearly" || spec == "@annually") return "0 0 1 1 *";
  if (spec == "@monthly") return "0 0 1 * *";
  if (spec == "@weekly") return "0 0 * * 0";
  if (spec == "@daily" || spec == "@midnight") return "0 0 * * *";
  if (spec == "@hourly") return "0 * * * *";
  return spec;
}

}  // namespace

CronSchedule CronSchedule::parse(std::string_view spec) {
  while (!spec.empty() && spec.front() == ' ') spec.remove_prefix(1);
  while (!spec.empty() && spec.back() == ' ') spec.remove_suffix(1);
  if (spec.empty()) throw std::invalid_argument("empty spec string");
  const std::string_view expanded = expandDescriptor(spec);
  if (expanded.front() == '@') {
    throw std::invalid_argument("unrecognized descriptor: " + std::string(spec));
  }
  std::vector<std::string_view> fields;
  for (const auto f : split(expanded, ' ')) {
    if (!f.empty()) fields.push_back(f);
  }
  if (fields.size() != 5) {
    throw std::invalid_argument("expected exactly 5 fields, found " +
                                std::to_string(fields.size()) + ": " + std::string(spec));
  }
  CronSchedule s;
  parseField(fields[0], {"minute", 0, 59, nullptr, 0}, s.minutes_);
  parseField(fields[1], {"hour", 0, 23, nullptr, 0}, s.hours_);
  s.domStar_ = parseField(fields[2], {"day of month", 1, 31, nullptr, 0}, s.daysOfMonth_);
  parseField(fields[3], {"month", 1, 12, kMonthNames.data(), kMonthNames.size()}, s.months_);
  s.dowStar_ = parseField(fields[4], {"day of week", 0, 6, kDayNames.data(), kDayNames.size()},
                          s.daysOfWeek_);
  return s;
}

bool CronSchedule::dayMatches(year_month_day day) const {
  if (!months_.test(static_cast<unsigned>(day.month()))) return false;
  const bool dom = daysOfMonth_.test(static_cast<unsigned>(day.day()));
  const bool dow = daysOfWeek_.test(weekday(sys_days(day)).c_encoding());
  // As cron: when both day fields are restricted, either may match.
  if (domStar_ || dowStar_) return dom && dow;
  return dom || dow;
}

std::optional<CronSchedule::TimePoint> CronSchedule::next(TimePoint t) const {
  const auto start = floor<minutes>(t) + minutes(1);
  auto day = floor<days>(start);
  auto fromMinute = duration_cast<minutes>(start - day).count();
  for (int i = 0; i < 366 * 5; ++i, day += days(1), fromMinute = 0) {
    if (!dayMatches(year_month_day(day))) continue;
    for (auto m = fromMinute; m < int64_t{24} * 60; ++m) {
      if (hours_.test(static_cast<std::size_t>(m / 60)) &&
          minutes_.test(static_cast<std::size_t>(m % 60))) {
        return TimePoint(day + minutes(m));
      }
    }
  }
  return std::nullopt;
}

MissedRuns mostRecentSchedule(const CronSchedule& schedule, CronSchedule::TimePoint earliest,
                              CronSchedule::TimePoint now) {
  MissedRuns out;
  auto t = schedule.next(earliest);
  // Far behind (a controller down for long): only the latest run matters; skip ahead in
  // large steps instead of visiting every activation.
  while (t && *t <= now) {
    ++out.count;
    out.mostRecent = *t;
    if (out.count > 100 && now - *t > hours(24)) {
      t = schedule.next(now - hours(24));
      continue;
    }
    t = schedule.next(*t);
  }
  return out;
}

std::string cronJobName(std::string_view cronJob, CronSchedule::TimePoint scheduled) {
  return std::string(cronJob) + "-" +
         std::to_string(duration_cast<minutes>(scheduled.time_since_epoch()).count());
}

}  // namespace kite::controlplane::controllers
