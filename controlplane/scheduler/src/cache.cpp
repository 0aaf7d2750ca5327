// Nodes, bound pods and assumed pods, aggregated per node.
#include "kite/controlplane/scheduler/cache.h"

#include <utility>

#include "kite/api/meta.h"

namespace kite::controlplane::scheduler {

void SchedulerCache::addOrUpdateNode(std::shared_ptr<const corev1::Node> node) {
  std::lock_guard lock(mutex_);
  auto& info = nodes_[node->metadata.name];
  if (info.node() == nullptr) dirty_ = true;
  info.setNode(std::move(node));
}

void SchedulerCache::removeNode(const std::string& name) {
  std::lock_guard lock(mutex_);
  const auto it = nodes_.find(name);
  if (it == nodes_.end()) return;
  // Pods still bound to it keep a placeholder until they are gone (as upstream).
  if (it->second.pods().empty()) {
    nodes_.erase(it);
  } else {
    it->second.clearNode();
  }
  dirty_ = true;
}

void SchedulerCache::addPodLocked(PodInfo pod) {
  const std::string key = api::fullName(pod.pod->metadata);
  removePodLocked(key);
  const std::string node = pod.pod->spec.nodeName;
  podNodes_[key] = node;
  nodes_[node].addPod(std::move(pod));
}

void SchedulerCache::removePodLocked(const std::string& key) {
  const auto it = podNodes_.find(key);
  if (it == podNodes_.end()) return;
  if (auto n = nodes_.find(it->second); n != nodes_.end()) {
    n->second.removePod(key);
    if (n->second.node() == nullptr && n->second.pods().empty()) nodes_.erase(n);
  }
  podNodes_.erase(it);
}

void SchedulerCache::addOrUpdatePod(std::shared_ptr<const corev1::Pod> pod) {
  PodInfo info = PodInfo::from(std::move(pod));
  std::lock_guard lock(mutex_);
  assumed_.erase(api::fullName(info.pod->metadata));
  addPodLocked(std::move(info));
}

void SchedulerCache::removePod(const std::string& key) {
  std::lock_guard lock(mutex_);
  assumed_.erase(key);
  removePodLocked(key);
}

void SchedulerCache::assume(PodInfo pod) {
  std::lock_guard lock(mutex_);
  assumed_.insert(api::fullName(pod.pod->metadata));
  addPodLocked(std::move(pod));
}

void SchedulerCache::forget(const std::string& key) {
  std::lock_guard lock(mutex_);
  if (assumed_.erase(key) > 0) removePodLocked(key);
}

bool SchedulerCache::isAssumed(const std::string& key) const {
  std::lock_guard lock(mutex_);
  return assumed_.contains(key);
}

void SchedulerCache::rebuildListLocked() {
  list_.clear();
  for (const auto& [name, info] : nodes_) {
    if (info.node() != nullptr) list_.push_back(&info);
  }
  dirty_ = false;
}

std::size_t SchedulerCache::nodeCount() const {
  std::lock_guard lock(mutex_);
  std::size_t n = 0;
  for (const auto& [name, info] : nodes_) n += info.node() != nullptr ? 1 : 0;
  return n;
}

std::size_t SchedulerCache::podCount() const {
  std::lock_guard lock(mutex_);
  return podNodes_.size();
}

}  // namespace kite::controlplane::scheduler
