#pragma once
// The filter and score plugins of upstream's default profile, as plain functions over a pod
// and a node (framework.h). Pre-computations over all nodes (inter-pod affinity, topology
// spread) are built once per pod by the Prepare* functions; Algorithm (algorithm.h) runs
// them all.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "kite/api/labels.h"
#include "kite/api/storage/v1/types.h"
#include "kite/controlplane/scheduler/framework.h"

namespace kite::controlplane::scheduler {

inline constexpr std::int64_t kMaxNodeScore = 100;

// ---- node affinity and taints (also used by the topology plugins) ----
bool nodeSelectorRequirementMatches(const corev1::NodeSelectorRequirement& r,
                                    const corev1::Node& node, bool field);
bool nodeSelectorTermMatches(const corev1::NodeSelectorTerm& term, const corev1::Node& node);
// Any term matches (a required node selector).
bool nodeSelectorMatches(const corev1::NodeSelector& selector, const corev1::Node& node);
// spec.nodeSelector and required node affinity.
bool podMatchesNodeSelectorAndAffinity(const corev1::Pod& pod, const corev1::Node& node);
bool tolerates(const corev1::Toleration& toleration, const corev1::Taint& taint);
bool toleratesTaint(const std::vector<corev1::Toleration>& tolerations, const corev1::Taint& taint);

// ---- filters ----
Status filterNodeName(const corev1::Pod& pod, const NodeInfo& node);
Status filterNodeUnschedulable(const corev1::Pod& pod, const NodeInfo& node);
Status filterNodeAffinity(const corev1::Pod& pod, const NodeInfo& node);
Status filterTaintToleration(const corev1::Pod& pod, const NodeInfo& node);
Status filterNodePorts(const PodInfo& pod, const NodeInfo& node);
Status filterNodeResourcesFit(const PodInfo& pod, const NodeInfo& node);

// ---- inter-pod affinity ----
using TopologyPair = std::pair<std::string, std::string>;  // node label key and value
struct InterPodAffinityState {
  bool active = false;
  std::map<TopologyPair, int> existingAntiAffinity;  // existing pods' anti terms matching us
  std::map<TopologyPair, int> affinity;              // pods matching our affinity terms
  std::map<TopologyPair, int> antiAffinity;          // pods matching our anti terms
  bool podMatchesOwnAffinity = false;
};
InterPodAffinityState prepareInterPodAffinity(const PodInfo& pod,
                                              const std::vector<const NodeInfo*>& nodes);
Status filterInterPodAffinity(const PodInfo& pod, const InterPodAffinityState& state,
                              const NodeInfo& node);
// Upstream's PreFilter AddPod (delta 1) / RemovePod (-1): existing now (no longer) on node.
// Used when preemption removes victims and when nominated pods are counted on their node.
void updateInterPodAffinity(InterPodAffinityState& state, const PodInfo& pod,
                            const PodInfo& existing, const NodeInfo& node, int delta);
// Preferred terms of the pod and of existing pods: the raw (not normalized) score per topology
// pair; empty when nothing applies.
std::map<TopologyPair, std::int64_t> prepareInterPodAffinityScore(
    const PodInfo& pod, const std::vector<const NodeInfo*>& nodes);
std::int64_t scoreInterPodAffinity(const std::map<TopologyPair, std::int64_t>& pairs,
                                   const NodeInfo& node);

// ---- pod topology spread (DoNotSchedule constraints) ----
struct SpreadConstraintState {
  std::string topologyKey;
  std::int32_t maxSkew = 1;
  std::int32_t minDomains = 1;
  bool selfMatch = false;
  api::labels::Selector selector = api::labels::Selector::nothing();
  std::map<std::string, int> counts;  // domain value -> matching pods
};
struct TopologySpreadState {
  std::vector<SpreadConstraintState> constraints;
};
TopologySpreadState prepareTopologySpread(const corev1::Pod& pod,
                                          const std::vector<const NodeInfo*>& nodes);
Status filterTopologySpread(const TopologySpreadState& state, const NodeInfo& node);
// As updateInterPodAffinity, for the spread counts.
void updateTopologySpread(TopologySpreadState& state, const corev1::Pod& pod,
                          const PodInfo& existing, const NodeInfo& node, int delta);

// ---- volume binding (local persistent volumes) ----
// Lookups the volume plugin needs; the scheduler backs them with informers.
class VolumeLister {
 public:
  virtual ~VolumeLister() = default;
  virtual std::shared_ptr<const corev1::PersistentVolumeClaim> claim(
      const std::string& ns, const std::string& name) const = 0;
  virtual std::shared_ptr<const corev1::PersistentVolume> volume(const std::string& name) const = 0;
  virtual std::vector<std::shared_ptr<const corev1::PersistentVolume>> volumes() const = 0;
  virtual std::shared_ptr<const api::storage::v1::StorageClass> storageClass(
      const std::string& name) const = 0;
};
struct VolumeBindingState {
  // Claims already bound: their volumes (whose node affinity must match).
  std::vector<std::shared_ptr<const corev1::PersistentVolume>> boundVolumes;
  // Unbound claims of WaitForFirstConsumer classes: a matching available volume must exist.
  std::vector<std::shared_ptr<const corev1::PersistentVolumeClaim>> delayedClaims;
  // Set when the pod cannot be scheduled anywhere (e.g. a claim that does not exist).
  std::string preFilterError;
};
// Whether the claim's class can provision a volume for it on the node (a provisioner other
// than kubernetes.io/no-provisioner, and the node within the class's allowedTopologies).
bool claimIsProvisionable(const corev1::PersistentVolumeClaim& pvc, const VolumeLister& lister,
                          const corev1::Node& node);
VolumeBindingState prepareVolumeBinding(const corev1::Pod& pod, const VolumeLister* lister);
Status filterVolumeBinding(const VolumeBindingState& state, const VolumeLister* lister,
                           const NodeInfo& node);
// Whether the volume could be bound to the claim on this node.
bool volumeMatchesClaim(const corev1::PersistentVolume& pv,
                        const corev1::PersistentVolumeClaim& pvc, const corev1::Node& node);

// ---- scores (0..kMaxNodeScore before normalization unless said otherwise) ----
std::int64_t scoreLeastAllocated(const PodInfo& pod, const NodeInfo& node);
std::int64_t scoreBalancedAllocation(const PodInfo& pod, const NodeInfo& node);
// Sum of the weights of the preferred terms that match (normalized later).
std::int64_t scoreNodeAffinity(const corev1::Pod& pod, const NodeInfo& node);
// Number of PreferNoSchedule taints the pod does not tolerate (reversed later).
std::int64_t scoreTaintToleration(const corev1::Pod& pod, const NodeInfo& node);

// Upstream's default weights.
namespace weights {
inline constexpr std::int64_t kTaintToleration = 3;
inline constexpr std::int64_t kNodeAffinity = 2;
inline constexpr std::int64_t kPodTopologySpread = 2;
inline constexpr std::int64_t kInterPodAffinity = 2;
inline constexpr std::int64_t kNodeResourcesFit = 1;
inline constexpr std::int64_t kBalancedAllocation = 1;
}  // namespace weights

}  // namespace kite::controlplane::scheduler
