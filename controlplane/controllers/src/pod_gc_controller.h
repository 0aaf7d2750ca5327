#pragma once
// The pod garbage collector, the part of upstream's that workloads depend on: a pod deleted
// before it was bound to a node has no kubelet to finish it, so it is marked Failed and
// removed at once (grace period 0). A finalizer (e.g. batch.kubernetes.io/job-tracking) keeps
// it, Failed, until its owner has counted it. Upstream does this every 20 s; here on the
// pod's deletion. Not built: removing terminated pods over a threshold, pods of deleted nodes
// and pods on out-of-service nodes.

#include <memory>

#include "kite/api/core/v1/types.h"
#include "kite/controlplane/controllers/controller.h"
#include "kite/controlplane/controllers/workloads.h"

namespace kite::controlplane::controllers {

// Deleted, never bound to a node: nothing but the pod GC will finish it.
bool isUnscheduledTerminating(const api::core::v1::Pod& pod);

std::unique_ptr<Controller> makePodGcController(client::Client& client,
                                                const WorkloadControllerOptions& options);

}  // namespace kite::controlplane::controllers
