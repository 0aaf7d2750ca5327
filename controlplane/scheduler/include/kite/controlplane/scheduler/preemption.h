#pragma once
// Upstream's DefaultPreemption (PostFilter): when a pod fits no node, find nodes where
// removing pods of lower priority would make it fit, keep as many of those pods as possible
// (highest priority first, PodDisruptionBudget-violating ones before the others), and pick
// one node by upstream's rules. The caller then nominates the pod to that node and deletes
// the victims. Plain computation over the cache's nodes; no API calls.

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "kite/api/policy/v1/types.h"
#include "kite/controlplane/scheduler/cycle_state.h"
#include "kite/controlplane/scheduler/framework.h"

namespace kite::controlplane::scheduler {

using PdbList = std::vector<std::shared_ptr<const api::policy::v1::PodDisruptionBudget>>;

// Upstream's reasons for a node in preemption's own "0/N nodes are available" message.
namespace reasons {
inline constexpr std::string_view kNoPreemptionVictims =
    "No preemption victims found for incoming pod";
inline constexpr std::string_view kPreemptionNotHelpful =
    "Preemption is not helpful for scheduling";
}  // namespace reasons

// The pods to remove from one node, most important (priority, then earliest start) first.
struct Victims {
  std::vector<PodInfo> pods;
  int numPdbViolations = 0;
};

struct PreemptionResult {
  // Set: the pod's nomination becomes this ("" clears it); unset: the nomination stays.
  std::optional<std::string> nominatedNode;
  std::vector<PodInfo> victims;
  // Upstream's PostFilter message ("preemption: ..."), "" when a node was found.
  std::string message;
};

// Upstream's PodEligibleToPreemptOthers: "" when eligible, else why not. A pod nominated to a
// node where a lower-priority pod is still terminating because of preemption waits for it.
std::string preemptionIneligibility(const corev1::Pod& pod,
                                    const std::vector<const NodeInfo*>& nodes,
                                    const std::map<std::string, Status>& statuses);

// upstream's filterPodsWithPDBViolation: which of the pods (in order) a PDB would not allow
// to go (status.disruptionsAllowed used up).
std::vector<bool> pdbViolations(const std::vector<PodInfo>& pods, const PdbList& pdbs);

// Upstream's SelectVictimsOnNode on a copy of node. nullopt with *failure set when removing
// every lower-priority pod does not make the pod fit (or there is none).
std::optional<Victims> selectVictimsOnNode(const PodInfo& pod, NodeInfo node, CycleState state,
                                           const PdbList& pdbs, const NominatedPods& nominated,
                                           const VolumeLister* lister, Status* failure);

// Upstream's pickOneNodeForPreemption: fewest PDB violations, lowest highest-victim priority,
// smallest priority sum, fewest victims, latest start among the highest-priority victims
// (a pod not started yet counts as starting now), then the first in candidate order.
std::string pickOneNodeForPreemption(const std::vector<std::pair<std::string, Victims>>& candidates,
                                     api::Time now = api::Time::now());

// Whether a is more important than b (upstream's MoreImportantPod).
bool moreImportantPod(const corev1::Pod& a, const corev1::Pod& b, api::Time now);

class Preemptor {
 public:
  explicit Preemptor(const VolumeLister* volumes = nullptr, unsigned seed = std::random_device{}())
      : volumes_(volumes), rng_(seed) {}

  // statuses: the filters' answer per node from the failed attempt.
  PreemptionResult preempt(const PodInfo& pod, const std::vector<const NodeInfo*>& nodes,
                           const std::map<std::string, Status>& statuses, const PdbList& pdbs,
                           const NominatedPods& nominated);

  // Upstream's candidates to dry-run: 10% of the nodes, at least 100, at most all.
  static std::size_t numCandidates(std::size_t numNodes);

 private:
  const VolumeLister* volumes_;
  std::mt19937 rng_;
};

}  // namespace kite::controlplane::scheduler
