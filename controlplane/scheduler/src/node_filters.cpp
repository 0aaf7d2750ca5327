// Filters and scores that look at one node only: NodeName, NodeUnschedulable, NodeAffinity,
// TaintToleration, NodePorts, NodeResourcesFit, BalancedAllocation.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <string>

#include "kite/controlplane/scheduler/plugins.h"

namespace kite::controlplane::scheduler {

namespace {

std::optional<std::int64_t> parseInt(const std::string& s) {
  std::int64_t v = 0;
  const auto* end = s.data() + s.size();
  const auto [ptr, ec] = std::from_chars(s.data(), end, v);
  if (ec != std::errc() || ptr != end) return std::nullopt;
  return v;
}

bool contains(const std::vector<std::string>& values, const std::string& v) {
  return std::find(values.begin(), values.end(), v) != values.end();
}

constexpr std::string_view kUnschedulableTaintKey = "node.kubernetes.io/unschedulable";

// One resource's share left after the pod is added, as upstream's leastRequestedScore.
std::int64_t leastRequested(std::int64_t requested, std::int64_t capacity) {
  if (capacity <= 0 || requested > capacity) return 0;
  return (capacity - requested) * kMaxNodeScore / capacity;
}

}  // namespace

bool nodeSelectorRequirementMatches(const corev1::NodeSelectorRequirement& r,
                                    const corev1::Node& node, bool field) {
  std::optional<std::string> value;
  if (field) {
    if (r.key == "metadata.name") value = node.metadata.name;
  } else if (const auto it = node.metadata.labels.find(r.key); it != node.metadata.labels.end()) {
    value = it->second;
  }
  const std::string& op = r.operator_;
  if (op == "In") return value && contains(r.values, *value);
  if (op == "NotIn") return !value || !contains(r.values, *value);
  if (field) return false;  // matchFields allows In and NotIn only
  if (op == "Exists") return value.has_value();
  if (op == "DoesNotExist") return !value.has_value();
  if (op == "Gt" || op == "Lt") {
    if (!value || r.values.size() != 1) return false;
    const auto have = parseInt(*value);
    const auto want = parseInt(r.values.front());
    if (!have || !want) return false;
    return op == "Gt" ? *have > *want : *have < *want;
  }
  return false;
}

bool nodeSelectorTermMatches(const corev1::NodeSelectorTerm& term, const corev1::Node& node) {
  // An empty term selects no node (upstream).
  if (term.matchExpressions.empty() && term.matchFields.empty()) return false;
  for (const auto& r : term.matchExpressions) {
    if (!nodeSelectorRequirementMatches(r, node, false)) return false;
  }
  for (const auto& r : term.matchFields) {
    if (!nodeSelectorRequirementMatches(r, node, true)) return false;
  }
  return true;
}

bool nodeSelectorMatches(const corev1::NodeSelector& selector, const corev1::Node& node) {
  return std::any_of(selector.nodeSelectorTerms.begin(), selector.nodeSelectorTerms.end(),
                     [&](const auto& term) { return nodeSelectorTermMatches(term, node); });
}

bool podMatchesNodeSelectorAndAffinity(const corev1::Pod& pod, const corev1::Node& node) {
  for (const auto& [key, value] : pod.spec.nodeSelector) {
    const auto it = node.metadata.labels.find(key);
    if (it == node.metadata.labels.end() || it->second != value) return false;
  }
  if (pod.spec.affinity && pod.spec.affinity->nodeAffinity &&
      pod.spec.affinity->nodeAffinity->requiredDuringSchedulingIgnoredDuringExecution) {
    return nodeSelectorMatches(
        *pod.spec.affinity->nodeAffinity->requiredDuringSchedulingIgnoredDuringExecution, node);
  }
  return true;
}

bool tolerates(const corev1::Toleration& t, const corev1::Taint& taint) {
  if (!t.effect.empty() && t.effect != taint.effect) return false;
  if (t.operator_ == "Exists") return t.key.empty() || t.key == taint.key;
  // Equal (the default)
  return t.key == taint.key && t.value == taint.value;
}

bool toleratesTaint(const std::vector<corev1::Toleration>& tolerations,
                    const corev1::Taint& taint) {
  return std::any_of(tolerations.begin(), tolerations.end(),
                     [&](const auto& t) { return tolerates(t, taint); });
}

Status filterNodeName(const corev1::Pod& pod, const NodeInfo& node) {
  if (pod.spec.nodeName.empty() || pod.spec.nodeName == node.name()) return Status::success();
  return Status::unresolvable(std::string(reasons::kNodeName));
}

Status filterNodeUnschedulable(const corev1::Pod& pod, const NodeInfo& node) {
  if (!node.node()->spec.unschedulable) return Status::success();
  const corev1::Taint taint{.key = std::string(kUnschedulableTaintKey), .effect = "NoSchedule"};
  if (toleratesTaint(pod.spec.tolerations, taint)) return Status::success();
  return Status::unresolvable(std::string(reasons::kUnschedulable));
}

Status filterNodeAffinity(const corev1::Pod& pod, const NodeInfo& node) {
  if (podMatchesNodeSelectorAndAffinity(pod, *node.node())) return Status::success();
  return Status::unresolvable(std::string(reasons::kNodeAffinity));
}

Status filterTaintToleration(const corev1::Pod& pod, const NodeInfo& node) {
  for (const auto& taint : node.node()->spec.taints) {
    if (taint.effect != "NoSchedule" && taint.effect != "NoExecute") continue;
    if (toleratesTaint(pod.spec.tolerations, taint)) continue;
    return Status::unresolvable("node(s) had untolerated taint {" + taint.key + ": " + taint.value +
                                "}");
  }
  return Status::success();
}

Status filterNodePorts(const PodInfo& pod, const NodeInfo& node) {
  for (const auto& want : pod.hostPorts) {
    for (const auto& used : node.usedPorts()) {
      if (hostPortsConflict(want, used)) {
        return Status::unschedulable(std::string(reasons::kNodePorts));
      }
    }
  }
  return Status::success();
}

Status filterNodeResourcesFit(const PodInfo& pod, const NodeInfo& node) {
  Status status;
  if (static_cast<std::int64_t>(node.pods().size()) + 1 > node.allowedPodNumber()) {
    status.reasons.emplace_back(reasons::kTooManyPods);
  }
  const Resource& want = pod.requests;
  const Resource& alloc = node.allocatable();
  const Resource& used = node.requested();
  if (want.milliCpu > 0 && want.milliCpu > alloc.milliCpu - used.milliCpu) {
    status.reasons.emplace_back("Insufficient cpu");
  }
  if (want.memory > 0 && want.memory > alloc.memory - used.memory) {
    status.reasons.emplace_back("Insufficient memory");
  }
  if (want.ephemeralStorage > 0 &&
      want.ephemeralStorage > alloc.ephemeralStorage - used.ephemeralStorage) {
    status.reasons.emplace_back("Insufficient ephemeral-storage");
  }
  for (const auto& [name, amount] : want.scalar) {
    if (amount <= 0) continue;
    const auto a = alloc.scalar.find(name);
    const auto u = used.scalar.find(name);
    const std::int64_t free =
        (a == alloc.scalar.end() ? 0 : a->second) - (u == used.scalar.end() ? 0 : u->second);
    if (amount > free) status.reasons.push_back("Insufficient " + name);
  }
  if (!status.reasons.empty()) status.code = Code::Unschedulable;
  return status;
}

std::int64_t scoreLeastAllocated(const PodInfo& pod, const NodeInfo& node) {
  const Resource& alloc = node.allocatable();
  const Resource& used = node.nonZeroRequested();
  const std::int64_t cpu =
      leastRequested(used.milliCpu + pod.nonZeroRequests.milliCpu, alloc.milliCpu);
  const std::int64_t memory =
      leastRequested(used.memory + pod.nonZeroRequests.memory, alloc.memory);
  return (cpu + memory) / 2;
}

std::int64_t scoreBalancedAllocation(const PodInfo& pod, const NodeInfo& node) {
  const Resource& alloc = node.allocatable();
  const Resource& used = node.nonZeroRequested();
  auto fraction = [](std::int64_t requested, std::int64_t capacity) {
    if (capacity <= 0) return 1.0;
    return std::min(1.0, static_cast<double>(requested) / static_cast<double>(capacity));
  };
  const double cpu = fraction(used.milliCpu + pod.nonZeroRequests.milliCpu, alloc.milliCpu);
  const double memory = fraction(used.memory + pod.nonZeroRequests.memory, alloc.memory);
  // The standard deviation of two fractions is half their distance.
  const double deviation = std::abs(cpu - memory) / 2;
  return static_cast<std::int64_t>((1 - deviation) * static_cast<double>(kMaxNodeScore));
}

std::int64_t scoreNodeAffinity(const corev1::Pod& pod, const NodeInfo& node) {
  if (!pod.spec.affinity || !pod.spec.affinity->nodeAffinity) return 0;
  std::int64_t sum = 0;
  for (const auto& term :
       pod.spec.affinity->nodeAffinity->preferredDuringSchedulingIgnoredDuringExecution) {
    if (term.weight != 0 && nodeSelectorTermMatches(term.preference, *node.node())) {
      sum += term.weight;
    }
  }
  return sum;
}

std::int64_t scoreTaintToleration(const corev1::Pod& pod, const NodeInfo& node) {
  std::int64_t count = 0;
  for (const auto& taint : node.node()->spec.taints) {
    if (taint.effect != "PreferNoSchedule") continue;
    const bool tolerated =
        std::any_of(pod.spec.tolerations.begin(), pod.spec.tolerations.end(), [&](const auto& t) {
          return (t.effect.empty() || t.effect == "PreferNoSchedule") && tolerates(t, taint);
        });
    if (!tolerated) ++count;
  }
  return count;
}

}  // namespace kite::controlplane::scheduler
