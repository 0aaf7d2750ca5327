#include "pod_gc.h"

#include <algorithm>
#include <tuple>

#include "kite/api/meta.h"

namespace kite::controlplane::controllers {

namespace {

using api::core::v1::Node;
using api::core::v1::Pod;

// Upstream's eviction.PodIsEvicted: such pods go first, before those of controllers.
bool isEvicted(const Pod& pod) {
  return pod.status.phase == "Failed" && pod.status.reason == "Evicted";
}

}  // namespace

bool isUnscheduledTerminating(const Pod& pod) {
  return pod.metadata.deletionTimestamp.has_value() && pod.spec.nodeName.empty();
}

bool isNodeReady(const Node& node) {
  const auto* ready = api::findCondition(node.status.conditions, "Ready");
  return ready != nullptr && ready->status == "True";
}

bool isNodeOutOfService(const Node& node) {
  if (isNodeReady(node)) return false;
  return std::ranges::any_of(node.spec.taints,
                             [](const auto& t) { return t.key == kOutOfServiceTaint; });
}

PodGcReason podGcReason(const Pod& pod, const Node* node, bool nodeConfirmedDeleted) {
  const bool deleting = pod.metadata.deletionTimestamp.has_value();
  // Already Failed and force-deleted: only its finalizers keep it, nothing is left to do.
  if (deleting && isPodTerminated(pod) && pod.metadata.deletionGracePeriodSeconds == 0) {
    return PodGcReason::None;
  }
  if (isUnscheduledTerminating(pod)) return PodGcReason::UnscheduledTerminating;
  if (pod.spec.nodeName.empty()) return PodGcReason::None;
  if (node == nullptr) return nodeConfirmedDeleted ? PodGcReason::NodeDeleted : PodGcReason::None;
  return deleting && isNodeOutOfService(*node) ? PodGcReason::NodeOutOfService : PodGcReason::None;
}

Pod failedByPodGc(Pod pod, PodGcReason reason, api::Time now) {
  pod.status.phase = "Failed";
  if (reason != PodGcReason::NodeDeleted && reason != PodGcReason::NodeOutOfService) return pod;
  api::core::v1::PodCondition c;
  c.type = "DisruptionTarget";
  c.status = "True";
  c.reason = "DeletionByPodGC";
  c.message = reason == PodGcReason::NodeDeleted ? "PodGC: node no longer exists"
                                                 : "PodGC: node is out-of-service";
  auto* existing = api::findCondition(pod.status.conditions, c.type);
  c.lastTransitionTime =
      existing != nullptr && existing->status == c.status ? existing->lastTransitionTime : now;
  if (existing != nullptr) {
    *existing = c;
  } else {
    pod.status.conditions.push_back(c);
  }
  return pod;
}

std::vector<std::shared_ptr<const Pod>> terminatedPodsOverThreshold(
    const std::vector<std::shared_ptr<const Pod>>& pods, int threshold) {
  if (threshold <= 0) return {};
  std::vector<std::shared_ptr<const Pod>> terminated;
  for (const auto& p : pods) {
    if (isPodTerminated(*p)) terminated.push_back(p);
  }
  if (terminated.size() <= static_cast<std::size_t>(threshold)) return {};
  const auto surplus = terminated.size() - static_cast<std::size_t>(threshold);
  const auto order = [](const auto& p) {
    return std::make_tuple(!isEvicted(*p), p->metadata.creationTimestamp.timePoint(),
                           std::cref(p->metadata.name), std::cref(p->metadata.namespace_));
  };
  std::ranges::partial_sort(terminated, terminated.begin() + static_cast<std::ptrdiff_t>(surplus),
                            [&](const auto& a, const auto& b) { return order(a) < order(b); });
  terminated.resize(surplus);
  return terminated;
}

}  // namespace kite::controlplane::controllers
