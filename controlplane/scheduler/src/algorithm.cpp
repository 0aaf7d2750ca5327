// The scheduling cycle's decision: filters, then scores with upstream's default weights.
#include "kite/controlplane/scheduler/algorithm.h"

#include <algorithm>
#include <limits>
#include <set>
#include <utility>

#include "kite/api/meta.h"

namespace kite::controlplane::scheduler {

namespace {

std::string histogram(const std::map<std::string, int>& counts) {
  std::vector<std::string> entries;
  entries.reserve(counts.size());
  for (const auto& [reason, n] : counts) entries.push_back(std::to_string(n) + " " + reason);
  std::sort(entries.begin(), entries.end());
  std::string out;
  for (const auto& e : entries) {
    if (!out.empty()) out += ", ";
    out += e;
  }
  return out;
}

// Scales raw scores to 0..kMaxNodeScore by the largest (reverse: fewer is better).
void normalize(std::vector<std::int64_t>& scores, bool reverse) {
  std::int64_t max = 0;
  for (auto s : scores) max = std::max(max, s);
  for (auto& s : scores) {
    if (max == 0) {
      s = reverse ? kMaxNodeScore : 0;
    } else {
      s = kMaxNodeScore * s / max;
      if (reverse) s = kMaxNodeScore - s;
    }
  }
}

void normalizeMinMax(std::vector<std::int64_t>& scores) {
  if (scores.empty()) return;
  const auto [lo, hi] = std::minmax_element(scores.begin(), scores.end());
  const std::int64_t min = *lo;
  const std::int64_t diff = *hi - min;
  for (auto& s : scores) s = diff > 0 ? kMaxNodeScore * (s - min) / diff : 0;
}

}  // namespace

std::string nodesAvailableMessage(std::size_t numAllNodes,
                                  const std::map<std::string, Status>& statuses,
                                  const std::string& preFilterMessage,
                                  const std::string& absentReason) {
  std::string msg = "0/" + std::to_string(numAllNodes) + " nodes are available:";
  if (!preFilterMessage.empty()) return msg + " " + preFilterMessage + ".";
  std::map<std::string, int> reasons;
  for (const auto& [node, status] : statuses) {
    for (const auto& r : status.reasons) ++reasons[r];
  }
  if (statuses.size() < numAllNodes && !absentReason.empty()) {
    reasons[absentReason] += static_cast<int>(numAllNodes - statuses.size());
  }
  if (!reasons.empty()) msg += " " + histogram(reasons) + ".";
  return msg;
}

std::string fitErrorMessage(std::size_t numAllNodes, const std::map<std::string, Status>& statuses,
                            const std::string& preFilterMessage,
                            const std::string& postFilterMessage) {
  std::string msg = nodesAvailableMessage(numAllNodes, statuses, preFilterMessage);
  if (!postFilterMessage.empty()) msg += " " + postFilterMessage;
  return msg;
}

FitError::FitError(std::size_t numAllNodes, std::map<std::string, Status> statuses,
                   const std::string& preFilterMessage)
    : std::runtime_error(numAllNodes == 0
                             ? std::string(kNoNodesAvailable)
                             : fitErrorMessage(numAllNodes, statuses, preFilterMessage)),
      numAllNodes_(numAllNodes),
      statuses_(std::move(statuses)),
      preFilterMessage_(preFilterMessage) {}

std::string FitError::message(const std::string& postFilterMessage) const {
  if (numAllNodes_ == 0) return what();
  return fitErrorMessage(numAllNodes_, statuses_, preFilterMessage_, postFilterMessage);
}

std::size_t Algorithm::numFeasibleNodesToFind(std::size_t numAllNodes) {
  constexpr std::size_t kMinFeasible = 100;
  if (numAllNodes < kMinFeasible) return numAllNodes;
  const std::int64_t adaptive = 50 - static_cast<std::int64_t>(numAllNodes) / 125;
  const std::size_t percentage = static_cast<std::size_t>(std::max<std::int64_t>(adaptive, 5));
  return std::max(kMinFeasible, numAllNodes * percentage / 100);
}

ScheduleResult Algorithm::schedule(const PodInfo& pod, const std::vector<const NodeInfo*>& nodes,
                                   const NominatedPods& nominated) {
  if (nodes.empty()) throw FitError(0, {});
  const corev1::Pod& p = *pod.pod;
  const CycleState state = prepareCycleState(pod, nodes, volumes_);
  if (!state.volumes.preFilterError.empty()) {
    std::map<std::string, Status> statuses;
    for (const NodeInfo* n : nodes)
      statuses[n->name()] = Status::unresolvable(state.volumes.preFilterError);
    throw FitError(nodes.size(), std::move(statuses), state.volumes.preFilterError);
  }
  const VolumeBindingState& volumes = state.volumes;

  // After preempting, the pod goes where room was made for it as soon as it fits there.
  if (const std::string& nominatedNode = p.status.nominatedNodeName; !nominatedNode.empty()) {
    const auto it = std::find_if(nodes.begin(), nodes.end(),
                                 [&](const NodeInfo* n) { return n->name() == nominatedNode; });
    if (it != nodes.end() &&
        runFiltersWithNominatedPods(pod, **it, state, volumes_, nominated).ok()) {
      ScheduleResult result;
      result.node = nominatedNode;
      result.evaluatedNodes = 1;
      result.feasibleNodes = 1;
      chooseVolumes(volumes, **it, result);
      return result;
    }
  }

  const std::size_t want = numFeasibleNodesToFind(nodes.size());
  std::vector<const NodeInfo*> feasible;
  feasible.reserve(want);
  std::map<std::string, Status> failed;
  std::size_t processed = 0;
  for (; processed < nodes.size() && feasible.size() < want; ++processed) {
    const NodeInfo* node = nodes[(nextStartNodeIndex_ + processed) % nodes.size()];
    Status s = nominated.empty()
                   ? runFilters(pod, *node, state, volumes_)
                   : runFiltersWithNominatedPods(pod, *node, state, volumes_, nominated);
    if (s.ok()) {
      feasible.push_back(node);
    } else {
      failed.emplace(node->name(), std::move(s));
    }
  }
  nextStartNodeIndex_ = (nextStartNodeIndex_ + processed) % nodes.size();
  if (feasible.empty()) throw FitError(nodes.size(), std::move(failed));

  ScheduleResult result;
  result.evaluatedNodes = processed;
  result.feasibleNodes = feasible.size();
  if (feasible.size() == 1) {
    result.node = feasible.front()->name();
    chooseVolumes(volumes, *feasible.front(), result);
    return result;
  }

  const std::size_t n = feasible.size();
  std::vector<std::int64_t> total(n, 0);
  std::vector<std::int64_t> taints(n);
  std::vector<std::int64_t> nodeAffinity(n);
  std::vector<std::int64_t> spreading(n);
  std::vector<std::int64_t> podAffinity(n);
  const auto affinityPairs = prepareInterPodAffinityScore(pod, feasible);
  for (std::size_t i = 0; i < n; ++i) {
    const NodeInfo& node = *feasible[i];
    total[i] += weights::kNodeResourcesFit * scoreLeastAllocated(pod, node);
    total[i] += weights::kBalancedAllocation * scoreBalancedAllocation(pod, node);
    taints[i] = scoreTaintToleration(p, node);
    nodeAffinity[i] = scoreNodeAffinity(p, node);
    // Default spreading: fewer pods of the same controller on the node is better.
    spreading[i] = pod.controllerUid.empty() ? 0 : node.podsOwnedBy(pod.controllerUid);
    podAffinity[i] = affinityPairs.empty() ? 0 : scoreInterPodAffinity(affinityPairs, node);
  }
  normalize(taints, true);
  normalize(nodeAffinity, false);
  normalize(spreading, true);
  normalizeMinMax(podAffinity);
  for (std::size_t i = 0; i < n; ++i) {
    total[i] += weights::kTaintToleration * taints[i] + weights::kNodeAffinity * nodeAffinity[i] +
                weights::kPodTopologySpread * spreading[i] +
                weights::kInterPodAffinity * podAffinity[i];
  }
  // Highest score; among equal ones each is picked with equal probability (reservoir).
  std::int64_t best = std::numeric_limits<std::int64_t>::min();
  std::size_t chosen = 0;
  std::size_t ties = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (total[i] > best) {
      best = total[i];
      chosen = i;
      ties = 1;
    } else if (total[i] == best) {
      ++ties;
      if (std::uniform_int_distribution<std::size_t>(0, ties - 1)(rng_) == 0) chosen = i;
    }
  }
  result.node = feasible[chosen]->name();
  chooseVolumes(volumes, *feasible[chosen], result);
  return result;
}

void Algorithm::chooseVolumes(const VolumeBindingState& state, const NodeInfo& node,
                              ScheduleResult& result) const {
  if (state.delayedClaims.empty() || volumes_ == nullptr) return;
  const auto all = volumes_->volumes();
  std::set<std::string> taken;
  for (const auto& pvc : state.delayedClaims) {
    std::shared_ptr<const corev1::PersistentVolume> best;
    for (const auto& pv : all) {
      if (taken.contains(pv->metadata.name) || !volumeMatchesClaim(*pv, *pvc, *node.node())) {
        continue;
      }
      const auto size = [](const corev1::PersistentVolume& v) {
        const auto it = v.spec.capacity.find("storage");
        return it == v.spec.capacity.end() ? api::Quantity() : it->second;
      };
      if (!best || size(*pv) < size(*best)) best = pv;
    }
    if (!best) {
      // The filter let the node pass: the class provisions a volume there once the claim
      // names the node (an empty volume in the choice).
      if (claimIsProvisionable(*pvc, *volumes_, *node.node())) {
        result.volumeChoices.push_back({api::fullName(pvc->metadata), ""});
      }
      continue;
    }
    taken.insert(best->metadata.name);
    result.volumeChoices.push_back({api::fullName(pvc->metadata), best->metadata.name});
  }
}

}  // namespace kite::controlplane::scheduler
