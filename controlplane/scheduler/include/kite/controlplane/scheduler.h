#pragma once
// kite's scheduler (kube-scheduler's part of `kite server`): assigns pending pods whose
// spec.schedulerName is ours to nodes with upstream's default filters and scores, binds them
// through pods/NAME/binding and reports Scheduled / FailedScheduling events. With leaderElect
// only the holder of the Lease kube-system/kube-scheduler schedules.
//
//   controlplane::Scheduler scheduler(client, {.schedulerName = "default-scheduler"});
//   scheduler.start();   // returns at once; scheduling runs on its own threads
//   ...
//   scheduler.stop();

#include <chrono>
#include <memory>
#include <string>

#include "kite/client/client.h"

namespace kite::controlplane {

struct SchedulerOptions {
  std::string schedulerName = "default-scheduler";
  bool leaderElect = true;
  std::string leaseNamespace = "kube-system";
  std::string leaseName = "kube-scheduler";
  // Leader election identity; host name plus a random suffix when empty.
  std::string identity{};
  // Binding calls in flight at once.
  int bindWorkers = 16;
  // Back-off of a pod after a failed attempt: doubles from initial up to max (upstream's
  // podInitialBackoffSeconds 1, podMaxBackoffSeconds 10).
  std::chrono::milliseconds podInitialBackoff{1000};
  std::chrono::milliseconds podMaxBackoff{10'000};
};

class Scheduler {
 public:
  Scheduler(client::Client& client, SchedulerOptions options = {});
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Starts the informers, the election (or scheduling at once without leaderElect) and the
  // scheduling loop on their own threads.
  void start();
  // Stops everything; gives the lease up when holding it. Idempotent.
  void stop();

  // Pods bound by this scheduler since start (for tests and benchmarks).
  std::size_t scheduledCount() const;
  bool isLeader() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace kite::controlplane
