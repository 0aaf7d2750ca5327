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

#include "kite/controlplane/scheduler/framework.h"
#include "kite/controlplane/scheduler/plugins.h"

namespace kite::controlplane::scheduler {

// "0/3 nodes are available: 1 Insufficient cpu, 2 node(s) had untolerated taint {k: v}.
// preemption: 0/3 nodes are available: 1 No preemption victims found for incoming pod, 2
// Preemption is not helpful for scheduling." Reasons are counted per node and sorted as
// strings, as upstream's FitError.Error() does.
std::string fitErrorMessage(std::size_t numAllNodes, const std::map<std::string, Status>& statuses,
                            const std::string& preFilterMessage = {});

class FitError : public std::runtime_error {
 public:
  FitError(std::size_t numAllNodes, std::map<std::string, Status> statuses,
           const std::string& preFilterMessage = {});
  const std::map<std::string, Status>& statuses() const { return statuses_; }

 private:
  std::map<std::string, Status> statuses_;
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

  // Throws FitError (also for an empty node list, with kNoNodesAvailable).
  ScheduleResult schedule(const PodInfo& pod, const std::vector<const NodeInfo*>& nodes);

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
