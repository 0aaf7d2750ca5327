#pragma once
// What one scheduling attempt computes once per pod (upstream's CycleState after PreFilter)
// and the filters run over it in upstream's order. Preemption changes a copy of a node and
// keeps the state in step (upstream's PreFilter AddPod/RemovePod extensions), and pods
// nominated to a node count there for pods of lower or equal priority.

#include <map>
#include <string>
#include <vector>

#include "kite/controlplane/scheduler/framework.h"
#include "kite/controlplane/scheduler/plugins.h"

namespace kite::controlplane::scheduler {

struct CycleState {
  VolumeBindingState volumes;
  InterPodAffinityState affinity;
  TopologySpreadState spread;
};

CycleState prepareCycleState(const PodInfo& pod, const std::vector<const NodeInfo*>& nodes,
                             const VolumeLister* lister);

// The filters in upstream's order; the first failing one decides (as the framework does).
Status runFilters(const PodInfo& pod, const NodeInfo& node, const CycleState& state,
                  const VolumeLister* lister);

// existing was added to (removed from) node: the state follows.
void addPodToState(CycleState& state, const PodInfo& pod, const PodInfo& existing,
                   const NodeInfo& node);
void removePodFromState(CycleState& state, const PodInfo& pod, const PodInfo& existing,
                        const NodeInfo& node);

// Pending pods nominated to a node (status.nominatedNodeName, or the scheduler's own
// nomination after preemption), by node name.
using NominatedPods = std::map<std::string, std::vector<PodInfo>>;

// upstream's RunFilterPluginsWithNominatedPods: when pods of priority >= the pod's are
// nominated to the node, the filters must pass with them counted there (so the pod does not
// take room freed for them) and, when that passes, without them too (pod affinity may need
// them absent).
Status runFiltersWithNominatedPods(const PodInfo& pod, const NodeInfo& node,
                                   const CycleState& state, const VolumeLister* lister,
                                   const NominatedPods& nominated);

inline std::int32_t podPriority(const corev1::Pod& pod) { return pod.spec.priority.value_or(0); }

}  // namespace kite::controlplane::scheduler
