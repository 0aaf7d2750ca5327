// DefaultPreemption: eligibility, victims per node, the node to preempt on.
#include "kite/controlplane/scheduler/preemption.h"

#include <algorithm>
#include <functional>
#include <limits>
#include <stdexcept>
#include <utility>

#include "kite/api/labels.h"
#include "kite/api/meta.h"
#include "kite/controlplane/scheduler/algorithm.h"

namespace kite::controlplane::scheduler {

namespace {

constexpr std::string_view kDisruptionTarget = "DisruptionTarget";
constexpr std::string_view kPreemptionByScheduler = "PreemptionByScheduler";
constexpr std::size_t kMinCandidateNodesPercentage = 10;
constexpr std::size_t kMinCandidateNodesAbsolute = 100;

// Upstream's GetPodStartTime: status.startTime, or now for a pod not started yet.
api::Time podStartTime(const corev1::Pod& pod, api::Time now) {
  return pod.status.startTime && !pod.status.startTime->isZero() ? *pod.status.startTime : now;
}

// Being deleted after the scheduler preempted it (upstream's podTerminatingByPreemption).
bool terminatingByPreemption(const corev1::Pod& pod) {
  if (!api::isBeingDeleted(pod.metadata)) return false;
  const auto* c = api::findCondition(pod.status.conditions, kDisruptionTarget);
  return c != nullptr && c->status == "True" && c->reason == kPreemptionByScheduler;
}

// Upstream's GetEarliestPodStartTime: the earliest start among the highest-priority victims.
api::Time earliestStartOfHighest(const Victims& v, api::Time now) {
  std::int32_t highest = std::numeric_limits<std::int32_t>::min();
  api::Time earliest;
  for (const auto& p : v.pods) {
    const std::int32_t priority = podPriority(*p.pod);
    const api::Time start = podStartTime(*p.pod, now);
    if (priority > highest) {
      highest = priority;
      earliest = start;
    } else if (priority == highest && start < earliest) {
      earliest = start;
    }
  }
  return earliest;
}

}  // namespace

bool moreImportantPod(const corev1::Pod& a, const corev1::Pod& b, api::Time now) {
  const std::int32_t pa = podPriority(a);
  const std::int32_t pb = podPriority(b);
  if (pa != pb) return pa > pb;
  return podStartTime(a, now) < podStartTime(b, now);
}

std::string preemptionIneligibility(const corev1::Pod& pod,
                                    const std::vector<const NodeInfo*>& nodes,
                                    const std::map<std::string, Status>& statuses) {
  if (pod.spec.preemptionPolicy.value_or("PreemptLowerPriority") == "Never") {
    return "not eligible due to preemptionPolicy=Never.";
  }
  const std::string& nominated = pod.status.nominatedNodeName;
  if (nominated.empty()) return {};
  // Filters the nominated node can never pass: preempting elsewhere is the only way.
  if (const auto it = statuses.find(nominated);
      it != statuses.end() && it->second.code == Code::UnschedulableAndUnresolvable) {
    return {};
  }
  const auto node = std::find_if(nodes.begin(), nodes.end(),
                                 [&](const NodeInfo* n) { return n->name() == nominated; });
  if (node == nodes.end()) return {};
  const std::int32_t priority = podPriority(pod);
  for (const auto& [key, existing] : (*node)->pods()) {
    if (podPriority(*existing.pod) < priority && terminatingByPreemption(*existing.pod)) {
      return "not eligible due to a terminating pod on the nominated node.";
    }
  }
  return {};
}

std::vector<bool> pdbViolations(const std::vector<PodInfo>& pods, const PdbList& pdbs) {
  std::vector<std::int64_t> allowed;
  std::vector<std::optional<api::labels::Selector>> selectors;
  allowed.reserve(pdbs.size());
  for (const auto& pdb : pdbs) {
    allowed.push_back(pdb->status.disruptionsAllowed);
    std::optional<api::labels::Selector> selector;
    try {
      // A PDB with no or an empty selector matches nothing; an invalid one neither.
      if (pdb->spec.selector) {
        auto s = api::labels::Selector::fromLabelSelector(*pdb->spec.selector);
        if (!s.matchesEverything()) selector = std::move(s);
      }
    } catch (const std::invalid_argument&) {
      selector.reset();
    }
    selectors.push_back(std::move(selector));
  }
  std::vector<bool> out;
  out.reserve(pods.size());
  for (const auto& p : pods) {
    bool violated = false;
    const auto& m = p.pod->metadata;
    for (std::size_t i = 0; i < pdbs.size() && !m.labels.empty(); ++i) {
      if (pdbs[i]->metadata.namespace_ != m.namespace_ || !selectors[i] ||
          !selectors[i]->matches(m.labels)) {
        continue;
      }
      // Already counted by the API server's eviction: not a new disruption.
      if (pdbs[i]->status.disruptedPods.contains(m.name)) continue;
      if (--allowed[i] < 0) violated = true;
    }
    out.push_back(violated);
  }
  return out;
}

std::optional<Victims> selectVictimsOnNode(const PodInfo& pod, NodeInfo node, CycleState state,
                                           const PdbList& pdbs, const NominatedPods& nominated,
                                           const VolumeLister* lister, Status* failure) {
  const std::int32_t priority = podPriority(*pod.pod);
  std::vector<PodInfo> potential;
  for (const auto& [key, existing] : node.pods()) {
    if (podPriority(*existing.pod) < priority) potential.push_back(existing);
  }
  if (potential.empty()) {
    *failure = Status::unresolvable(std::string(reasons::kNoPreemptionVictims));
    return std::nullopt;
  }
  for (const auto& victim : potential) {
    node.removePod(api::fullName(victim.pod->metadata));
    removePodFromState(state, pod, victim, node);
  }
  // Only filters that removing pods can satisfy are left to check; affinity to a victim is
  // not tried (upstream neither).
  if (Status s = runFiltersWithNominatedPods(pod, node, state, lister, nominated); !s.ok()) {
    *failure = std::move(s);
    return std::nullopt;
  }
  const api::Time now = api::Time::now();
  std::stable_sort(potential.begin(), potential.end(), [&](const PodInfo& a, const PodInfo& b) {
    return moreImportantPod(*a.pod, *b.pod, now);
  });
  const std::vector<bool> violating = pdbViolations(potential, pdbs);
  Victims victims;
  // Keep as many as possible: the ones whose PDB forbids removal first, each group from the
  // most important down.
  for (const bool pass : {true, false}) {
    for (std::size_t i = 0; i < potential.size(); ++i) {
      if (violating[i] != pass) continue;
      const PodInfo& p = potential[i];
      node.addPod(p);
      addPodToState(state, pod, p, node);
      if (runFiltersWithNominatedPods(pod, node, state, lister, nominated).ok()) continue;
      node.removePod(api::fullName(p.pod->metadata));
      removePodFromState(state, pod, p, node);
      victims.pods.push_back(p);
      if (pass) ++victims.numPdbViolations;
    }
  }
  std::stable_sort(
      victims.pods.begin(), victims.pods.end(),
      [&](const PodInfo& a, const PodInfo& b) { return moreImportantPod(*a.pod, *b.pod, now); });
  return victims;
}

std::string pickOneNodeForPreemption(const std::vector<std::pair<std::string, Victims>>& candidates,
                                     api::Time now) {
  if (candidates.empty()) return {};
  using Score = std::int64_t;
  const std::vector<std::function<Score(const Victims&)>> rules = {
      [](const Victims& v) { return -Score{v.numPdbViolations}; },
      [](const Victims& v) { return -Score{podPriority(*v.pods.front().pod)}; },
      [](const Victims& v) {
        // Shifted to be non-negative so negative priorities do not favour more victims.
        Score sum = 0;
        for (const auto& p : v.pods) {
          sum += Score{podPriority(*p.pod)} + Score{std::numeric_limits<std::int32_t>::max()} + 1;
        }
        return -sum;
      },
      [](const Victims& v) { return -static_cast<Score>(v.pods.size()); },
      [now](const Victims& v) {
        return static_cast<Score>(
            earliestStartOfHighest(v, now).timePoint().time_since_epoch().count());
      },
  };
  std::vector<std::size_t> left(candidates.size());
  for (std::size_t i = 0; i < left.size(); ++i) left[i] = i;
  for (const auto& rule : rules) {
    Score best = std::numeric_limits<Score>::min();
    std::vector<std::size_t> kept;
    for (const std::size_t i : left) {
      const Score s = rule(candidates[i].second);
      if (s > best) {
        best = s;
        kept.clear();
      }
      if (s == best) kept.push_back(i);
    }
    if (kept.size() == 1) return candidates[kept.front()].first;
    left = std::move(kept);
  }
  return candidates[left.front()].first;
}

std::size_t Preemptor::numCandidates(std::size_t numNodes) {
  const std::size_t n =
      std::max(numNodes * kMinCandidateNodesPercentage / 100, kMinCandidateNodesAbsolute);
  return std::min(n, numNodes);
}

PreemptionResult Preemptor::preempt(const PodInfo& pod, const std::vector<const NodeInfo*>& nodes,
                                    const std::map<std::string, Status>& statuses,
                                    const PdbList& pdbs, const NominatedPods& nominated) {
  PreemptionResult result;
  if (std::string why = preemptionIneligibility(*pod.pod, nodes, statuses); !why.empty()) {
    result.message = "preemption: " + why;
    return result;
  }
  const auto notHelpful = std::string(reasons::kPreemptionNotHelpful);
  // Only nodes whose failure removing pods can resolve.
  std::vector<const NodeInfo*> potential;
  for (const NodeInfo* node : nodes) {
    const auto it = statuses.find(node->name());
    if (it != statuses.end() && it->second.code == Code::Unschedulable) potential.push_back(node);
  }
  std::map<std::string, Status> dryRun;
  // Nodes without a pod of lower priority are answered without copying anything: in a
  // cluster where all pods have the same priority every pending pod gets here.
  const std::int32_t priority = podPriority(*pod.pod);
  std::erase_if(potential, [&](const NodeInfo* node) {
    const bool none = std::none_of(node->pods().begin(), node->pods().end(), [&](const auto& p) {
      return podPriority(*p.second.pod) < priority;
    });
    if (none) {
      dryRun.emplace(node->name(),
                     Status::unresolvable(std::string(reasons::kNoPreemptionVictims)));
    }
    return none;
  });
  std::vector<std::pair<std::string, Victims>> candidates;
  if (!potential.empty()) {
    const CycleState state = prepareCycleState(pod, nodes, volumes_);
    const std::size_t wanted = numCandidates(potential.size());
    const std::size_t offset =
        std::uniform_int_distribution<std::size_t>(0, potential.size() - 1)(rng_);
    std::size_t nonViolating = 0;
    for (std::size_t i = 0; i < potential.size(); ++i) {
      const NodeInfo& node = *potential[(offset + i) % potential.size()];
      Status failure;
      auto victims = selectVictimsOnNode(pod, node, state, pdbs, nominated, volumes_, &failure);
      if (!victims || victims->pods.empty()) {
        if (victims) failure = Status::unresolvable(std::string(reasons::kNoPreemptionVictims));
        dryRun.emplace(node.name(), std::move(failure));
        continue;
      }
      if (victims->numPdbViolations == 0) ++nonViolating;
      candidates.emplace_back(node.name(), std::move(*victims));
      if (nonViolating > 0 && candidates.size() >= wanted) break;
    }
  }
  if (candidates.empty()) {
    // The pod gives up any earlier nomination.
    result.nominatedNode = "";
    result.message = "preemption: " + nodesAvailableMessage(nodes.size(), dryRun, {}, notHelpful);
    return result;
  }
  const std::string chosen = pickOneNodeForPreemption(candidates);
  for (auto& [name, victims] : candidates) {
    if (name == chosen) result.victims = std::move(victims.pods);
  }
  result.nominatedNode = chosen;
  return result;
}

}  // namespace kite::controlplane::scheduler
