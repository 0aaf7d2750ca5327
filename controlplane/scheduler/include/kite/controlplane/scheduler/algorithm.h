#pragma once
// One scheduling decision, as upstream's schedulePod: run the filters over the nodes (stopping
// once enough feasible nodes were found, upstream's percentageOfNodesToScore), score the
// feasible ones with the default weights, and pick the highest, ties at random. A pod that
// fits nowhere gets a FitError whose message is upstream's FailedScheduling text.

#include <cstddef>
#include <map>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "kite/controlplane/scheduler/cycle_state.h"
#include "kite/controlplane/scheduler/framework.h"
#include "kite/controlplane/scheduler/plugins.h"

namespace kite::controlplane::scheduler {

// "0/3 nodes are available: 1 Insufficient cpu, 2 node(s) had untolerated taint {k: v}."
// Reasons are counted per node and sorted as strings, as upstream's FitError.Error() does;
// nodes without a status count with absentReason. A PreFilter failure replaces the counts.
std::string nodesAvailableMessage(std::size_t numAllNodes,
                                  const std::map<std::string, Status>& statuses,
                                  const std::string& preFilterMessage = {},
                                  const std::string& absentReason = {});
// The FailedScheduling text: the above, then what PostFilter (preemption) said, e.g.
// "... preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod."
std::string fitErrorMessage(std::size_t numAllNodes, const std::map<std::string, Status>& statuses,
                            const std::string& preFilterMessage = {},
                            const std::string& postFilterMessage = {});

// The pod fits no node. what() is the message before preemption ran (upstream's FitError
// without its PostFilter message); message() adds preemption's.
class FitError : public std::runtime_error {
 public:
  FitError(std::size_t numAllNodes, std::map<std::string, Status> statuses,
           const std::string& preFilterMessage = {});
  const std::map<std::string, Status>& statuses() const { return statuses_; }
  std::size_t numAllNodes() const { return numAllNodes_; }
  std::string message(const std::string& postFilterMessage) const;

 private:
  std::size_t numAllNodes_;
  std::map<std::string, Status> statuses_;
  std::string preFilterMessage_;
};

// Upstream's message when the cluster has no nodes at all.
inline constexpr std::string_view kNoNodesAvailable = "no nodes available to schedule pods";

struct ScheduleResult {
  std::string node;
  std::size_t evaluatedNodes = 0;
  std::size_t feasibleNodes = 0;
  // Unbound WaitForFirstConsumer claims ("ns/name") and the volume picked for each on the
  // chosen node (the smallest that fits, as upstream): the volume is reserved for the claim
  // (claimRef) and the claim gets the selected-node annotation.
  struct VolumeChoice {
    std::string claim;
    std::string volume;  // "" when the claim's class provisions one on the chosen node
    bool operator==(const VolumeChoice&) const = default;
  };
  std::vector<VolumeChoice> volumeChoices;
};

class Algorithm {
 public:
  explicit Algorithm(const VolumeLister* volumes = nullptr, unsigned seed = std::random_device{}())
      : volumes_(volumes), rng_(seed) {}

  // Throws FitError (also for an empty node list, with kNoNodesAvailable). Pods nominated to
  // a node with priority >= the pod's count there. A pod with status.nominatedNodeName goes
  // there when it fits (upstream's evaluateNominatedNode), without looking further.
  ScheduleResult schedule(const PodInfo& pod, const std::vector<const NodeInfo*>& nodes,
                          const NominatedPods& nominated = {});

  // Upstream's adaptive numFeasibleNodesToFind (percentageOfNodesToScore unset): all nodes
  // below 100, otherwise 50% minus 1% per 125 nodes, at least 5% and at least 100 nodes.
  static std::size_t numFeasibleNodesToFind(std::size_t numAllNodes);

 private:
  void chooseVolumes(const VolumeBindingState& state, const NodeInfo& node,
                     ScheduleResult& result) const;

  const VolumeLister* volumes_;
  std::mt19937 rng_;
  std::size_t nextStartNodeIndex_ = 0;
};

}  // namespace kite::controlplane::scheduler
