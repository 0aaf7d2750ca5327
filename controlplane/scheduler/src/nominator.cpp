// Nominated pods by node.
#include "kite/controlplane/scheduler/nominator.h"

#include <algorithm>

#include "kite/api/meta.h"

namespace kite::controlplane::scheduler {

void Nominator::nominate(const std::shared_ptr<const corev1::Pod>& pod, const std::string& node) {
  const std::string key = api::fullName(pod->metadata);
  std::lock_guard lock(mutex_);
  removeLocked(key);
  if (node.empty()) return;
  nodeOf_[key] = node;
  byNode_[node].push_back(PodInfo::from(pod));
}

void Nominator::update(const corev1::Pod* oldPod, const std::shared_ptr<const corev1::Pod>& pod) {
  const std::string key = api::fullName(pod->metadata);
  std::string node = pod->status.nominatedNodeName;
  {
    std::lock_guard lock(mutex_);
    const auto it = nodeOf_.find(key);
    if (node.empty() && it == nodeOf_.end()) return;  // the common case: nothing to do
    if (node.empty() && (oldPod == nullptr || oldPod->status.nominatedNodeName.empty())) {
      node = it->second;
    }
  }
  nominate(pod, node);
}

void Nominator::remove(const std::string& key) {
  std::lock_guard lock(mutex_);
  removeLocked(key);
}

void Nominator::removeLocked(const std::string& key) {
  const auto it = nodeOf_.find(key);
  if (it == nodeOf_.end()) return;
  auto& pods = byNode_[it->second];
  std::erase_if(pods, [&](const PodInfo& p) { return api::fullName(p.pod->metadata) == key; });
  if (pods.empty()) byNode_.erase(it->second);
  nodeOf_.erase(it);
}

NominatedPods Nominator::snapshot() const {
  std::lock_guard lock(mutex_);
  return byNode_;
}

std::vector<PodInfo> Nominator::lowerPriorityOn(const std::string& node,
                                                std::int32_t priority) const {
  std::lock_guard lock(mutex_);
  std::vector<PodInfo> out;
  const auto it = byNode_.find(node);
  if (it == byNode_.end()) return out;
  for (const auto& p : it->second) {
    if (podPriority(*p.pod) < priority) out.push_back(p);
  }
  return out;
}

}  // namespace kite::controlplane::scheduler
