#pragma once
// Pending pods nominated to a node (upstream's nominator in the scheduling queue): from
// status.nominatedNodeName as the informer reports it, and from the scheduler's own
// preemption before that status write comes back. Thread-safe; the scheduling cycle takes a
// snapshot, which is an empty map (no copying) while nobody is nominated.

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "kite/controlplane/scheduler/cycle_state.h"

namespace kite::controlplane::scheduler {

class Nominator {
 public:
  // The pod is nominated to node ("" removes the nomination).
  void nominate(const std::shared_ptr<const corev1::Pod>& pod, const std::string& node);
  // A pending pod as the informer reports it (added or changed). A status that names no node
  // keeps the scheduler's own nomination when the old one named none either: the status
  // write after preemption may not have arrived yet (upstream's rule).
  void update(const corev1::Pod* oldPod, const std::shared_ptr<const corev1::Pod>& pod);
  // Bound, deleted or no longer ours.
  void remove(const std::string& key);

  NominatedPods snapshot() const;
  // The pods nominated to node with a priority below priority.
  std::vector<PodInfo> lowerPriorityOn(const std::string& node, std::int32_t priority) const;

 private:
  void removeLocked(const std::string& key);

  mutable std::mutex mutex_;
  std::map<std::string, std::string> nodeOf_;  // pod key -> node
  NominatedPods byNode_;
};

}  // namespace kite::controlplane::scheduler
