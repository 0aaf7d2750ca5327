#include "kite/kubelet/runtime_pod.h"

#include <algorithm>

#include "kite/kubelet/labels.h"

namespace kite::kubelet {

const RuntimeContainer* RuntimePod::latest(const std::string& name,
                                           const std::string& sandboxId) const {
  for (const auto& c : containers) {
    if (c.name == name && (sandboxId.empty() || c.podSandboxId == sandboxId)) return &c;
  }
  return nullptr;
}

const RuntimeContainer* RuntimePod::previous(const std::string& name) const {
  bool seenNewest = false;
  for (const auto& c : containers) {
    if (c.name != name) continue;
    if (seenNewest) return &c;
    seenNewest = true;
  }
  return nullptr;
}

bool RuntimePod::anyRunning() const {
  return std::any_of(containers.begin(), containers.end(),
                     [](const RuntimeContainer& c) { return c.running(); });
}

RuntimePod readRuntimePod(cri::Runtime& runtime, const std::string& podUid) {
  RuntimePod pod;
  pod.uid = podUid;
  cri::v1::PodSandboxFilter sandboxFilter;
  (*sandboxFilter.mutable_label_selector())[labels::kPodUid] = podUid;
  (*sandboxFilter.mutable_label_selector())[labels::kManagedBy] = labels::kManagedByValue;
  for (const auto& sandbox : runtime.listPodSandbox(sandboxFilter)) {
    try {
      pod.sandboxes.push_back(runtime.podSandboxStatus(sandbox.id()).status());
    } catch (const cri::Error& e) {
      if (!e.isNotFound()) throw;
    }
  }
  std::sort(pod.sandboxes.begin(), pod.sandboxes.end(),
            [](const auto& a, const auto& b) { return a.created_at() > b.created_at(); });

  cri::v1::ContainerFilter containerFilter;
  (*containerFilter.mutable_label_selector())[labels::kPodUid] = podUid;
  (*containerFilter.mutable_label_selector())[labels::kManagedBy] = labels::kManagedByValue;
  for (const auto& container : runtime.listContainers(containerFilter)) {
    RuntimeContainer rc;
    try {
      rc.status = runtime.containerStatus(container.id()).status();
    } catch (const cri::Error& e) {
      if (e.isNotFound()) continue;
      throw;
    }
    rc.podSandboxId = container.pod_sandbox_id();
    const auto& labelMap = container.labels();
    const auto& annotations = container.annotations();
    auto get = [](const auto& map, const char* key) {
      auto it = map.find(key);
      return it == map.end() ? std::string() : it->second;
    };
    rc.name = get(labelMap, labels::kContainerName);
    rc.init = get(labelMap, labels::kContainerType) == "init";
    rc.hash = get(annotations, labels::kContainerHash);
    rc.restartCount = static_cast<int>(container.metadata().attempt());
    pod.containers.push_back(std::move(rc));
  }
  std::sort(pod.containers.begin(), pod.containers.end(), [](const auto& a, const auto& b) {
    return a.status.created_at() > b.status.created_at();
  });
  return pod;
}

}  // namespace kite::kubelet
