#pragma once
// The pod garbage collector (upstream's podgc): pods nothing else will finish are marked
// Failed and deleted with grace period 0 -- a pod deleted before it was bound (no kubelet;
// handled on its deletion), a pod bound to a node that is gone (missing from the node cache
// for the quarantine, then NotFound from the API server; condition DisruptionTarget "PodGC:
// node no longer exists") and a pod being deleted on a NotReady node tainted
// node.kubernetes.io/out-of-service ("PodGC: node is out-of-service"). Terminated pods beyond
// terminatedPodGcThreshold are deleted too, the oldest first. A finalizer (e.g.
// batch.kubernetes.io/job-tracking) keeps a pod, Failed, until its owner has counted it. A sweep
// over every pod runs every podGcPeriod (upstream: 20 s) and when a node goes away.

#include <memory>

#include "kite/api/core/v1/types.h"
#include "kite/client/shared_informers.h"
#include "kite/controlplane/controllers/controller.h"
#include "kite/controlplane/controllers/workloads.h"

namespace kite::controlplane::controllers {

std::unique_ptr<Controller> makePodGcController(
    client::Client& client, const std::shared_ptr<client::SharedInformers>& informers,
    const WorkloadControllerOptions& options);

}  // namespace kite::controlplane::controllers
