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

namespace {

// Name, kind, hash and restart count come from the labels and annotations kite gave the
// container; the status carries the same ones as the list does.
RuntimeContainer runtimeContainer(cri::v1::ContainerStatus status,
                                  const std::string& podSandboxId) {
  RuntimeContainer rc;
  auto get = [](const auto& map, const char* key) {
    auto it = map.find(key);
    return it == map.end() ? std::string() : it->second;
  };
  rc.name = get(status.labels(), labels::kContainerName);
  rc.init = get(status.labels(), labels::kContainerType) == "init";
  rc.hash = get(status.annotations(), labels::kContainerHash);
  rc.restartCount = static_cast<int>(status.metadata().attempt());
  rc.podSandboxId = podSandboxId;
  rc.status = std::move(status);
  return rc;
}

void sortNewestFirst(RuntimePod& pod) {
  std::stable_sort(pod.containers.begin(), pod.containers.end(), [](const auto& a, const auto& b) {
    return a.status.created_at() > b.status.created_at();
  });
}

}  // namespace

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
  // Newest first; a sandbox whose creation failed has no creation time (0): the attempt
  // orders those.
  std::sort(pod.sandboxes.begin(), pod.sandboxes.end(), [](const auto& a, const auto& b) {
    if (a.created_at() != b.created_at()) return a.created_at() > b.created_at();
    return a.metadata().attempt() > b.metadata().attempt();
  });

  cri::v1::ContainerFilter containerFilter;
  (*containerFilter.mutable_label_selector())[labels::kPodUid] = podUid;
  (*containerFilter.mutable_label_selector())[labels::kManagedBy] = labels::kManagedByValue;
  for (const auto& container : runtime.listContainers(containerFilter)) {
    try {
      pod.containers.push_back(runtimeContainer(runtime.containerStatus(container.id()).status(),
                                                container.pod_sandbox_id()));
    } catch (const cri::Error& e) {
      if (e.isNotFound()) continue;
      throw;
    }
  }
  sortNewestFirst(pod);
  return pod;
}

void refreshContainers(cri::Runtime& runtime, RuntimePod& pod, const std::vector<std::string>& ids,
                       const std::string& podSandboxId) {
  for (const auto& id : ids) {
    auto it = std::find_if(pod.containers.begin(), pod.containers.end(),
                           [&](const RuntimeContainer& c) { return c.id() == id; });
    try {
      auto status = runtime.containerStatus(id).status();
      if (it != pod.containers.end()) {
        it->status = std::move(status);
      } else {
        pod.containers.push_back(runtimeContainer(std::move(status), podSandboxId));
      }
    } catch (const cri::Error& e) {
      if (!e.isNotFound()) throw;
      if (it != pod.containers.end()) pod.containers.erase(it);
    }
  }
  sortNewestFirst(pod);
}

}  // namespace kite::kubelet
