#pragma once
// The pod garbage collector's decisions, apart from its API calls: which pods nothing but the
// GC will finish (never bound, bound to a deleted node, or on an out-of-service node), how it
// marks them before deleting them, and which terminated pods go once there are more than the
// threshold (kube-controller-manager's --terminated-pod-gc-threshold).

#include <memory>
#include <string_view>
#include <vector>

#include "kite/api/core/v1/types.h"
#include "workload_pods.h"  // isPodTerminated

namespace kite::controlplane::controllers {

// The taint an administrator puts on a node that is down for good, so that its pods are
// finished (and their volumes detached) without waiting for its kubelet.
inline constexpr std::string_view kOutOfServiceTaint = "node.kubernetes.io/out-of-service";

// Why the pod GC marks a pod Failed and deletes it with grace 0.
enum class PodGcReason {
  None,
  UnscheduledTerminating,  // deleted before it was bound: no kubelet will finish it
  NodeDeleted,             // bound to a node that no longer exists
  NodeOutOfService,        // being deleted on a NotReady node tainted out-of-service
};

// Deleted, never bound to a node: nothing but the pod GC will finish it.
bool isUnscheduledTerminating(const api::core::v1::Pod& pod);
// The node's Ready condition is True.
bool isNodeReady(const api::core::v1::Node& node);
// NotReady and tainted node.kubernetes.io/out-of-service (upstream looks at the key only).
bool isNodeOutOfService(const api::core::v1::Node& node);

// node: the pod's node as the cache has it (nullptr when absent); nodeConfirmedDeleted: that
// node was missing for the quarantine and the API server said NotFound.
PodGcReason podGcReason(const api::core::v1::Pod& pod, const api::core::v1::Node* node,
                        bool nodeConfirmedDeleted);

// The pod as the GC writes its status before deleting it: phase Failed and, for a deleted or
// out-of-service node, a DisruptionTarget condition (reason DeletionByPodGC) saying which, so
// that a Job's podFailurePolicy can tell a disruption from a failure.
api::core::v1::Pod failedByPodGc(api::core::v1::Pod pod, PodGcReason reason, api::Time now);

// The terminated pods to delete so that `threshold` remain, evicted ones first, then the
// oldest (creationTimestamp, then name). None when threshold <= 0.
std::vector<std::shared_ptr<const api::core::v1::Pod>> terminatedPodsOverThreshold(
    const std::vector<std::shared_ptr<const api::core::v1::Pod>>& pods, int threshold);

}  // namespace kite::controlplane::controllers
