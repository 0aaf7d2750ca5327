#pragma once
// The workload controllers of `kite server` (kube-controller-manager's part for apps/v1 and
// batch/v1): replicaset, deployment, garbagecollector, podgc, job, cronjob, daemonset and
// statefulset, each a Controller.
//
//   auto controllers = makeWorkloadControllers(client, {});
//   for (auto& c : controllers) c->start();

#include <chrono>
#include <memory>
#include <vector>

#include "kite/base/clock.h"
#include "kite/client/client.h"
#include "kite/client/shared_informers.h"
#include "kite/controlplane/controllers/controller.h"

namespace kite::controlplane::controllers {

struct WorkloadControllerOptions {
  // Wall time for schedules, deadlines and minReadySeconds; the real clock when null.
  const base::Clock* clock = nullptr;
  // The first delay before a failed Job pod is replaced (upstream: 10 s, doubling, 6 min max).
  std::chrono::milliseconds jobBackoffBase{10'000};
  // How long the informers may take to sync at start.
  std::chrono::milliseconds syncTimeout{60'000};
  // How often the pod GC looks over every pod (upstream: 20 s).
  std::chrono::milliseconds podGcPeriod{20'000};
  // How long a node pods are bound to must be missing before the pod GC deletes them
  // (upstream's quarantine: 40 s).
  std::chrono::milliseconds podGcNodeQuarantine{40'000};
  // Terminated (Succeeded/Failed) pods kept before the pod GC deletes the oldest
  // (kube-controller-manager's --terminated-pod-gc-threshold); 0 or less keeps them all.
  int terminatedPodGcThreshold = 12'500;
};

// Every workload controller, not started, reading through `informers` (shared with the
// cluster controllers when the caller passes the same). The client must outlive them.
std::vector<std::unique_ptr<Controller>> makeWorkloadControllers(
    client::Client& client, const std::shared_ptr<client::SharedInformers>& informers,
    const WorkloadControllerOptions& options);
// The same, with shared informers of their own.
std::vector<std::unique_ptr<Controller>> makeWorkloadControllers(
    client::Client& client, const WorkloadControllerOptions& options);

}  // namespace kite::controlplane::controllers
