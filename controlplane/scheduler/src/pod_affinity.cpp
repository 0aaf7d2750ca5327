// InterPodAffinity (required affinity and anti-affinity, both the incoming pod's and the
// existing pods' anti-affinity, plus preferred terms for scoring) and PodTopologySpread's
// DoNotSchedule constraints. Both count matching pods per topology domain once per pod, then
// judge each node by its domain.
#include <algorithm>
#include <limits>
#include <set>
#include <stdexcept>

#include "kite/api/labels.h"
#include "kite/api/meta.h"
#include "kite/controlplane/scheduler/plugins.h"

namespace kite::controlplane::scheduler {

namespace {

namespace labels = api::labels;

// A pod affinity term resolved against the pod that declares it.
struct Term {
  labels::Selector selector = labels::Selector::nothing();
  std::set<std::string> namespaces;
  bool allNamespaces = false;
  std::string topologyKey;
  std::int64_t weight = 1;

  bool matches(const corev1::Pod& pod) const {
    if (!allNamespaces && !namespaces.contains(pod.metadata.namespace_)) return false;
    return selector.matches(pod.metadata.labels);
  }
};

Term resolve(const corev1::PodAffinityTerm& t, const corev1::Pod& owner, std::int64_t weight) {
  Term term;
  term.topologyKey = t.topologyKey;
  term.weight = weight;
  try {
    if (t.labelSelector) {
      term.selector = labels::Selector::fromLabelSelector(*t.labelSelector);
      for (const auto& key : t.matchLabelKeys) {
        if (const auto it = owner.metadata.labels.find(key); it != owner.metadata.labels.end()) {
          term.selector.add(key, labels::Operator::In, {it->second});
        }
      }
      for (const auto& key : t.mismatchLabelKeys) {
        if (const auto it = owner.metadata.labels.find(key); it != owner.metadata.labels.end()) {
          term.selector.add(key, labels::Operator::NotIn, {it->second});
        }
      }
    }
  } catch (const std::invalid_argument&) {
    term.selector = labels::Selector::nothing();
  }
  term.namespaces.insert(t.namespaces.begin(), t.namespaces.end());
  // An empty namespaceSelector ({}) selects every namespace; kite does not resolve non-empty
  // namespace selectors here (no namespace labels in the scheduler's cache).
  if (t.namespaceSelector && t.namespaceSelector->matchLabels.empty() &&
      t.namespaceSelector->matchExpressions.empty()) {
    term.allNamespaces = true;
  }
  if (term.namespaces.empty() && !t.namespaceSelector) {
    term.namespaces.insert(owner.metadata.namespace_);
  }
  return term;
}

std::vector<Term> requiredAffinity(const corev1::Pod& pod) {
  std::vector<Term> out;
  if (pod.spec.affinity && pod.spec.affinity->podAffinity) {
    for (const auto& t :
         pod.spec.affinity->podAffinity->requiredDuringSchedulingIgnoredDuringExecution) {
      out.push_back(resolve(t, pod, 1));
    }
  }
  return out;
}

std::vector<Term> requiredAntiAffinity(const corev1::Pod& pod) {
  std::vector<Term> out;
  if (pod.spec.affinity && pod.spec.affinity->podAntiAffinity) {
    for (const auto& t :
         pod.spec.affinity->podAntiAffinity->requiredDuringSchedulingIgnoredDuringExecution) {
      out.push_back(resolve(t, pod, 1));
    }
  }
  return out;
}

// Preferred terms, anti-affinity with negative weights.
std::vector<Term> preferredTerms(const corev1::Pod& pod) {
  std::vector<Term> out;
  if (!pod.spec.affinity) return out;
  if (pod.spec.affinity->podAffinity) {
    for (const auto& t :
         pod.spec.affinity->podAffinity->preferredDuringSchedulingIgnoredDuringExecution) {
      out.push_back(resolve(t.podAffinityTerm, pod, t.weight));
    }
  }
  if (pod.spec.affinity->podAntiAffinity) {
    for (const auto& t :
         pod.spec.affinity->podAntiAffinity->preferredDuringSchedulingIgnoredDuringExecution) {
      out.push_back(resolve(t.podAffinityTerm, pod, -std::int64_t{t.weight}));
    }
  }
  return out;
}

const std::string* labelOf(const NodeInfo& node, const std::string& key) {
  const auto& l = node.node()->metadata.labels;
  const auto it = l.find(key);
  return it == l.end() ? nullptr : &it->second;
}

}  // namespace

namespace {

// Counts (delta +1) or uncounts (-1) one pod on node in the incoming pod's state.
void countPod(InterPodAffinityState& state, const corev1::Pod& incoming,
              const std::vector<Term>& affinity, const std::vector<Term>& anti,
              const PodInfo& existing, const NodeInfo& node, int delta) {
  const auto bump = [delta](std::map<TopologyPair, int>& counts, const TopologyPair& pair) {
    // Zero counts are dropped: an empty affinity map means "no matching pod anywhere".
    if ((counts[pair] += delta) == 0) counts.erase(pair);
  };
  if (existing.hasRequiredAntiAffinity) {
    for (const auto& term : requiredAntiAffinity(*existing.pod)) {
      const auto* value = labelOf(node, term.topologyKey);
      if (value && term.matches(incoming))
        bump(state.existingAntiAffinity, {term.topologyKey, *value});
    }
  }
  for (const auto& term : affinity) {
    const auto* value = labelOf(node, term.topologyKey);
    if (value && term.matches(*existing.pod)) bump(state.affinity, {term.topologyKey, *value});
  }
  for (const auto& term : anti) {
    const auto* value = labelOf(node, term.topologyKey);
    if (value && term.matches(*existing.pod)) bump(state.antiAffinity, {term.topologyKey, *value});
  }
}

}  // namespace

InterPodAffinityState prepareInterPodAffinity(const PodInfo& pod,
                                              const std::vector<const NodeInfo*>& nodes) {
  InterPodAffinityState state;
  const auto affinity = requiredAffinity(*pod.pod);
  const auto anti = requiredAntiAffinity(*pod.pod);
  const bool existingAnti = std::any_of(nodes.begin(), nodes.end(), [](const NodeInfo* n) {
    return n->podsWithRequiredAntiAffinity() > 0;
  });
  state.active = !affinity.empty() || !anti.empty() || existingAnti;
  if (!state.active) return state;
  state.podMatchesOwnAffinity = std::all_of(affinity.begin(), affinity.end(),
                                            [&](const Term& t) { return t.matches(*pod.pod); });
  for (const NodeInfo* node : nodes) {
    if (affinity.empty() && anti.empty() && node->podsWithRequiredAntiAffinity() == 0) continue;
    for (const auto& [key, existing] : node->pods()) {
      countPod(state, *pod.pod, affinity, anti, existing, *node, 1);
    }
  }
  return state;
}

void updateInterPodAffinity(InterPodAffinityState& state, const PodInfo& pod,
                            const PodInfo& existing, const NodeInfo& node, int delta) {
  const auto affinity = requiredAffinity(*pod.pod);
  const auto anti = requiredAntiAffinity(*pod.pod);
  if (affinity.empty() && anti.empty() && !existing.hasRequiredAntiAffinity) return;
  if (!state.active) {
    // Inactive so far: nothing was counted, and the pod's own terms are empty (else it would
    // be active), so only the added pod's anti-affinity can matter from now on.
    state.active = true;
    state.podMatchesOwnAffinity = true;
  }
  countPod(state, *pod.pod, affinity, anti, existing, node, delta);
}

Status filterInterPodAffinity(const PodInfo& pod, const InterPodAffinityState& state,
                              const NodeInfo& node) {
  if (!state.active) return Status::success();
  for (const auto& [pair, count] : state.existingAntiAffinity) {
    const auto* value = labelOf(node, pair.first);
    if (count > 0 && value && *value == pair.second) {
      return Status::unschedulable(std::string(reasons::kExistingAntiAffinity));
    }
  }
  for (const auto& term : requiredAntiAffinity(*pod.pod)) {
    const auto* value = labelOf(node, term.topologyKey);
    if (!value) continue;
    const auto it = state.antiAffinity.find({term.topologyKey, *value});
    if (it != state.antiAffinity.end() && it->second > 0) {
      return Status::unschedulable(std::string(reasons::kPodAntiAffinity));
    }
  }
  const auto affinity = requiredAffinity(*pod.pod);
  bool podsExist = true;
  for (const auto& term : affinity) {
    const auto* value = labelOf(node, term.topologyKey);
    const auto it = value ? state.affinity.find({term.topologyKey, *value}) : state.affinity.end();
    if (it == state.affinity.end() || it->second <= 0) podsExist = false;
  }
  // The first pod of a group that is affine to itself may go anywhere.
  if (!podsExist && !(state.affinity.empty() && state.podMatchesOwnAffinity)) {
    return Status::unresolvable(std::string(reasons::kPodAffinity));
  }
  return Status::success();
}

std::map<TopologyPair, std::int64_t> prepareInterPodAffinityScore(
    const PodInfo& pod, const std::vector<const NodeInfo*>& nodes) {
  std::map<TopologyPair, std::int64_t> pairs;
  const auto preferred = preferredTerms(*pod.pod);
  for (const NodeInfo* node : nodes) {
    if (preferred.empty() && node->podsWithAffinityTerms() == 0) continue;
    for (const auto& [key, existing] : node->pods()) {
      for (const auto& term : preferred) {
        const auto* value = labelOf(*node, term.topologyKey);
        if (value && term.matches(*existing.pod)) pairs[{term.topologyKey, *value}] += term.weight;
      }
      if (!existing.hasAffinityTerms) continue;
      // Existing pods' terms pull (or push) the incoming pod too; their required affinity
      // counts with upstream's hardPodAffinityWeight of 1.
      auto theirs = preferredTerms(*existing.pod);
      for (auto& t : requiredAffinity(*existing.pod)) theirs.push_back(std::move(t));
      for (const auto& term : theirs) {
        const auto* value = labelOf(*node, term.topologyKey);
        if (value && term.matches(*pod.pod)) pairs[{term.topologyKey, *value}] += term.weight;
      }
    }
  }
  return pairs;
}

std::int64_t scoreInterPodAffinity(const std::map<TopologyPair, std::int64_t>& pairs,
                                   const NodeInfo& node) {
  std::int64_t sum = 0;
  for (const auto& [pair, weight] : pairs) {
    const auto* value = labelOf(node, pair.first);
    if (value && *value == pair.second) sum += weight;
  }
  return sum;
}

namespace {

// Whether the pods on node count for the pod's DoNotSchedule constraints: the node has every
// topology key and passes the node affinity and taint policies.
bool nodeCountsForSpread(const corev1::Pod& pod, const TopologySpreadState& state,
                         const NodeInfo& node) {
  for (const auto& c : pod.spec.topologySpreadConstraints) {
    if (c.whenUnsatisfiable != "DoNotSchedule") continue;
    if (c.nodeAffinityPolicy.value_or("Honor") == "Honor" &&
        !podMatchesNodeSelectorAndAffinity(pod, *node.node())) {
      return false;
    }
    if (c.nodeTaintsPolicy.value_or("Ignore") == "Honor") {
      for (const auto& taint : node.node()->spec.taints) {
        if ((taint.effect == "NoSchedule" || taint.effect == "NoExecute") &&
            !toleratesTaint(pod.spec.tolerations, taint)) {
          return false;
        }
      }
    }
  }
  return std::all_of(
      state.constraints.begin(), state.constraints.end(),
      [&](const SpreadConstraintState& s) { return labelOf(node, s.topologyKey) != nullptr; });
}

bool countsForSpread(const corev1::Pod& pod, const corev1::Pod& existing) {
  return existing.metadata.namespace_ == pod.metadata.namespace_ &&
         !api::isBeingDeleted(existing.metadata);
}

}  // namespace

TopologySpreadState prepareTopologySpread(const corev1::Pod& pod,
                                          const std::vector<const NodeInfo*>& nodes) {
  TopologySpreadState state;
  for (const auto& c : pod.spec.topologySpreadConstraints) {
    if (c.whenUnsatisfiable != "DoNotSchedule") continue;
    labels::Selector selector = labels::Selector::nothing();
    try {
      if (c.labelSelector) {
        selector = labels::Selector::fromLabelSelector(*c.labelSelector);
        for (const auto& key : c.matchLabelKeys) {
          if (const auto it = pod.metadata.labels.find(key); it != pod.metadata.labels.end()) {
            selector.add(key, labels::Operator::In, {it->second});
          }
        }
      }
    } catch (const std::invalid_argument&) {
      selector = labels::Selector::nothing();
    }
    SpreadConstraintState s;
    s.topologyKey = c.topologyKey;
    s.maxSkew = std::max(1, c.maxSkew);
    s.minDomains = c.minDomains.value_or(1);
    s.selfMatch = selector.matches(pod.metadata.labels);
    s.selector = std::move(selector);
    state.constraints.push_back(std::move(s));
  }
  if (state.constraints.empty()) return state;
  for (const NodeInfo* node : nodes) {
    if (!nodeCountsForSpread(pod, state, *node)) continue;
    for (auto& s : state.constraints) {
      int& count = s.counts[*labelOf(*node, s.topologyKey)];
      for (const auto& [key, existing] : node->pods()) {
        if (countsForSpread(pod, *existing.pod) &&
            s.selector.matches(existing.pod->metadata.labels))
          ++count;
      }
    }
  }
  return state;
}

void updateTopologySpread(TopologySpreadState& state, const corev1::Pod& pod,
                          const PodInfo& existing, const NodeInfo& node, int delta) {
  if (state.constraints.empty() || !countsForSpread(pod, *existing.pod) ||
      !nodeCountsForSpread(pod, state, node)) {
    return;
  }
  for (auto& s : state.constraints) {
    if (s.selector.matches(existing.pod->metadata.labels))
      s.counts[*labelOf(node, s.topologyKey)] += delta;
  }
}

Status filterTopologySpread(const TopologySpreadState& state, const NodeInfo& node) {
  for (const auto& s : state.constraints) {
    const auto* value = labelOf(node, s.topologyKey);
    if (value == nullptr)
      return Status::unresolvable(std::string(reasons::kTopologySpreadMissingLabel));
    int minMatch = std::numeric_limits<int>::max();
    for (const auto& [domain, count] : s.counts) minMatch = std::min(minMatch, count);
    if (s.counts.empty() || static_cast<int>(s.counts.size()) < s.minDomains) minMatch = 0;
    const auto it = s.counts.find(*value);
    const int matchNum = it == s.counts.end() ? 0 : it->second;
    if (matchNum + (s.selfMatch ? 1 : 0) - minMatch > s.maxSkew) {
      return Status::unschedulable(std::string(reasons::kTopologySpread));
    }
  }
  return Status::success();
}

}  // namespace kite::controlplane::scheduler
