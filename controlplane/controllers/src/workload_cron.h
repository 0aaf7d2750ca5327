#pragma once
// Cron schedules as CronJobs use them: five fields (minute hour day-of-month month
// day-of-week) with *, ?, lists, ranges, steps and month/day names, or @yearly, @annually,
// @monthly, @weekly, @daily, @midnight, @hourly. Times are UTC, to the minute.

#include <bitset>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace kite::controlplane::controllers {

class CronSchedule {
 public:
  using TimePoint = std::chrono::system_clock::time_point;

  // Throws std::invalid_argument saying what is wrong (as upstream, prefixed by the caller
  // with the field, spec.schedule).
  static CronSchedule parse(std::string_view spec);

  // The first activation strictly after t; nullopt when there is none within five years
  // (e.g. "0 0 30 2 *").
  std::optional<TimePoint> next(TimePoint t) const;

 private:
  bool dayMatches(std::chrono::year_month_day day) const;

  std::bitset<60> minutes_;
  std::bitset<24> hours_;
  std::bitset<32> daysOfMonth_;
  std::bitset<13> months_;
  std::bitset<7> daysOfWeek_;
  bool domStar_ = false;
  bool dowStar_ = false;
};

// The most recent activation in (earliest, now], and how many there were.
struct MissedRuns {
  std::optional<CronSchedule::TimePoint> mostRecent;
  int count = 0;
};
MissedRuns mostRecentSchedule(const CronSchedule& schedule, CronSchedule::TimePoint earliest,
                              CronSchedule::TimePoint now);

// "<cronjob>-<minutes since the epoch of the scheduled time>", as upstream names the Jobs.
std::string cronJobName(std::string_view cronJob, CronSchedule::TimePoint scheduled);

}  // namespace kite::controlplane::controllers
