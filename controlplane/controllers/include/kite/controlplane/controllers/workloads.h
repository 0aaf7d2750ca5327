#pragma once
// The workload controllers of `kite server` (kube-controller-manager's part for apps/v1 and
// batch/v1): replicaset, deployment, garbagecollector, podgc (unbound pods being deleted), job,
// cronjob, daemonset and statefulset, each a Controller.
//
//   auto controllers = makeWorkloadControllers(client, {});
//   for (auto& c : controllers) c->start();

#include <chrono>
#include <memory>
#include <vector>

#include "kite/base/clock.h"
#include "kite/client/client.h"
#include "kite/controlplane/controllers/controller.h"

namespace kite::controlplane::controllers {

struct WorkloadControllerOptions {
  // Wall time for schedules, deadlines and minReadySeconds; the real clock when null.
  const base::Clock* clock = nullptr;
  // The first delay before a failed Job pod is replaced (upstream: 10 s, doubling, 6 min max).
  std::chrono::milliseconds jobBackoffBase{10'000};
  // How long the informers may take to sync at start.
  std::chrono::milliseconds syncTimeout{60'000};
};

std::vector<std::unique_ptr<Controller>> makeWorkloadControllers(
    client::Client& client, const WorkloadControllerOptions& options);

}  // namespace kite::controlplane::controllers
