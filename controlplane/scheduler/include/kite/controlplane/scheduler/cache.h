#pragma once
// The scheduler's in-memory cluster state: every node with the pods on it and their summed
// requests, fed by the node and pod informers and by the scheduler's own assumptions (a pod
// counts on its node from the moment its binding is sent, so the next decision already sees
// it). An assumed pod is confirmed when the informer reports it bound, or forgotten when the
// binding fails. Thread-safe; the scheduling cycle reads it under withNodes().

#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "kite/controlplane/scheduler/framework.h"

namespace kite::controlplane::scheduler {

class SchedulerCache {
 public:
  void addOrUpdateNode(std::shared_ptr<const corev1::Node> node);
  void removeNode(const std::string& name);

  // A bound pod as the informer reports it (confirms an assumed one).
  void addOrUpdatePod(std::shared_ptr<const corev1::Pod> pod);
  void removePod(const std::string& key);

  // pod.pod->spec.nodeName is the chosen node.
  void assume(PodInfo pod);
  // The binding failed: the assumed pod no longer counts.
  void forget(const std::string& key);
  bool isAssumed(const std::string& key) const;

  // Runs fn(nodes) with the nodes that exist, in a stable order, under the cache's lock.
  template <class Fn>
  auto withNodes(Fn&& fn) {
    std::lock_guard lock(mutex_);
    if (dirty_) rebuildListLocked();
    return fn(static_cast<const std::vector<const NodeInfo*>&>(list_));
  }

  std::size_t nodeCount() const;
  std::size_t podCount() const;

 private:
  void addPodLocked(PodInfo pod);
  void removePodLocked(const std::string& key);
  void rebuildListLocked();

  mutable std::mutex mutex_;
  std::map<std::string, NodeInfo> nodes_;        // also placeholders for pods on unknown nodes
  std::map<std::string, std::string> podNodes_;  // pod key -> node name
  std::set<std::string> assumed_;
  std::vector<const NodeInfo*> list_;
  bool dirty_ = true;
};

}  // namespace kite::controlplane::scheduler
