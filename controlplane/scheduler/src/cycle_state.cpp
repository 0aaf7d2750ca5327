// The filter pipeline over a prepared CycleState, with nominated pods counted.
#include "kite/controlplane/scheduler/cycle_state.h"

#include <optional>

namespace kite::controlplane::scheduler {

CycleState prepareCycleState(const PodInfo& pod, const std::vector<const NodeInfo*>& nodes,
                             const VolumeLister* lister) {
  CycleState state;
  state.volumes = prepareVolumeBinding(*pod.pod, lister);
  state.affinity = prepareInterPodAffinity(pod, nodes);
  state.spread = prepareTopologySpread(*pod.pod, nodes);
  return state;
}

Status runFilters(const PodInfo& pod, const NodeInfo& node, const CycleState& state,
                  const VolumeLister* lister) {
  const corev1::Pod& p = *pod.pod;
  if (auto s = filterNodeUnschedulable(p, node); !s.ok()) return s;
  if (auto s = filterNodeName(p, node); !s.ok()) return s;
  if (auto s = filterTaintToleration(p, node); !s.ok()) return s;
  if (auto s = filterNodeAffinity(p, node); !s.ok()) return s;
  if (auto s = filterNodePorts(pod, node); !s.ok()) return s;
  if (auto s = filterNodeResourcesFit(pod, node); !s.ok()) return s;
  if (auto s = filterVolumeBinding(state.volumes, lister, node); !s.ok()) return s;
  if (auto s = filterTopologySpread(state.spread, node); !s.ok()) return s;
  if (auto s = filterInterPodAffinity(pod, state.affinity, node); !s.ok()) return s;
  return Status::success();
}

void addPodToState(CycleState& state, const PodInfo& pod, const PodInfo& existing,
                   const NodeInfo& node) {
  updateInterPodAffinity(state.affinity, pod, existing, node, 1);
  updateTopologySpread(state.spread, *pod.pod, existing, node, 1);
}

void removePodFromState(CycleState& state, const PodInfo& pod, const PodInfo& existing,
                        const NodeInfo& node) {
  updateInterPodAffinity(state.affinity, pod, existing, node, -1);
  updateTopologySpread(state.spread, *pod.pod, existing, node, -1);
}

Status runFiltersWithNominatedPods(const PodInfo& pod, const NodeInfo& node,
                                   const CycleState& state, const VolumeLister* lister,
                                   const NominatedPods& nominated) {
  const auto it = nominated.empty() ? nominated.end() : nominated.find(node.name());
  if (it != nominated.end()) {
    const std::int32_t priority = podPriority(*pod.pod);
    std::optional<NodeInfo> withNominated;
    std::optional<CycleState> stateWithNominated;
    for (const PodInfo& other : it->second) {
      if (podPriority(*other.pod) < priority || other.pod->metadata.uid == pod.pod->metadata.uid)
        continue;
      if (!withNominated) {
        withNominated.emplace(node);
        stateWithNominated.emplace(state);
      }
      withNominated->addPod(other);
      addPodToState(*stateWithNominated, pod, other, *withNominated);
    }
    if (withNominated) {
      if (auto s = runFilters(pod, *withNominated, *stateWithNominated, lister); !s.ok()) return s;
    }
  }
  return runFilters(pod, node, state, lister);
}

}  // namespace kite::controlplane::scheduler
