#pragma once
// Upstream's scheduling queue: activeQ (ordered by priority, then by the time the pod was
// queued), backoffQ (pods waiting out their back-off: 1 s doubling to 10 s per attempt) and
// the unschedulable pods, which move back when the cluster changes (moveAll) or after five
// minutes. A pod that failed while a cluster change happened during its attempt goes to
// backoffQ instead of waiting for the next change. Thread-safe.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <tuple>

#include "kite/api/core/v1/types.h"

namespace kite::controlplane::scheduler {

class SchedulingQueue {
 public:
  using Clock = std::chrono::steady_clock;
  using Duration = Clock::duration;

  struct QueuedPod {
    std::shared_ptr<const api::core::v1::Pod> pod;
    std::string key;
    int attempts = 0;
    // The scheduling cycle this pop started (for the move-request rule).
    std::int64_t cycle = 0;
  };

  explicit SchedulingQueue(Duration initialBackoff = std::chrono::seconds(1),
                           Duration maxBackoff = std::chrono::seconds(10),
                           Duration maxUnschedulable = std::chrono::minutes(5));

  // A new pending pod (or one seen again): activeQ, unless it is already queued.
  void add(std::shared_ptr<const api::core::v1::Pod> pod);
  // A pending pod changed: the newest object is kept; an unschedulable pod is retried.
  void update(std::shared_ptr<const api::core::v1::Pod> pod);
  // Gone, bound or no longer ours.
  void remove(const std::string& key);

  // Waits up to timeout for a pod to schedule; nullopt on timeout or after close().
  std::optional<QueuedPod> pop(Duration timeout);
  // The popped pod was scheduled (assumed and sent for binding).
  void done(const std::string& key);
  // The popped pod fits nowhere: it waits for a cluster change (or goes to backoffQ when one
  // happened during its attempt, or it changed meanwhile).
  void addUnschedulable(const QueuedPod& pod);
  // The popped pod failed for another reason (e.g. binding): retried after its back-off.
  void addBackoff(const QueuedPod& pod);

  // A cluster change that may make unschedulable pods fit: each moves to activeQ, or to
  // backoffQ while its back-off lasts. With a predicate, only the pods it accepts.
  void moveAllToActiveOrBackoff(const std::function<bool(const api::core::v1::Pod&)>& accept = {});

  void close();

  std::size_t activeCount() const;
  std::size_t backoffCount() const;
  std::size_t unschedulableCount() const;
  // Queued anywhere or in flight.
  bool contains(const std::string& key) const;

 private:
  enum class Where { Active, Backoff, Unschedulable, InFlight };
  using ActiveKey = std::tuple<std::int64_t, Clock::time_point, std::uint64_t, std::string>;
  struct Entry {
    QueuedPod info;
    Where where = Where::Active;
    ActiveKey activeKey;
    Clock::time_point lastFailure{};
    Clock::time_point unschedulableSince{};
    bool changedInFlight = false;
  };

  void toActiveLocked(Entry& e, Clock::time_point now);
  void toBackoffLocked(Entry& e);
  void detachLocked(Entry& e);
  Clock::time_point backoffExpiryLocked(const Entry& e) const;
  void flushLocked(Clock::time_point now);
  void requeueLocked(const QueuedPod& pod, bool unschedulable);

  Duration initialBackoff_;
  Duration maxBackoff_;
  Duration maxUnschedulable_;
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::map<std::string, Entry> entries_;
  std::set<ActiveKey> active_;
  std::multimap<Clock::time_point, std::string> backoff_;
  std::set<std::string> unschedulable_;
  std::uint64_t sequence_ = 0;
  std::int64_t schedulingCycle_ = 0;
  std::int64_t moveRequestCycle_ = -1;
  Clock::time_point lastUnschedulableFlush_{};
  bool closed_ = false;
};

}  // namespace kite::controlplane::scheduler
