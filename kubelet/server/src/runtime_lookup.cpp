#include "runtime_lookup.h"

#include <algorithm>
#include <vector>

#include "kite/kubelet/labels.h"

namespace kite::kubelet::server {

std::optional<std::string> findSandbox(cri::Runtime& runtime, const std::string& namespace_,
                                       const std::string& pod) {
  cri::v1::PodSandboxFilter filter;
  (*filter.mutable_label_selector())[labels::kPodNamespace] = namespace_;
  (*filter.mutable_label_selector())[labels::kPodName] = pod;
  auto sandboxes = runtime.listPodSandbox(filter);
  if (sandboxes.empty()) {
    return std::nullopt;
  }
  std::sort(sandboxes.begin(), sandboxes.end(), [](const auto& a, const auto& b) {
    const bool readyA = a.state() == cri::v1::SANDBOX_READY;
    const bool readyB = b.state() == cri::v1::SANDBOX_READY;
    if (readyA != readyB) {
      return readyA;
    }
    return a.created_at() > b.created_at();
  });
  return sandboxes.front().id();
}

std::optional<FoundContainer> findContainer(cri::Runtime& runtime, const std::string& namespace_,
                                            const std::string& pod, const std::string& container,
                                            bool previous) {
  cri::v1::ContainerFilter filter;
  (*filter.mutable_label_selector())[labels::kPodNamespace] = namespace_;
  (*filter.mutable_label_selector())[labels::kPodName] = pod;
  (*filter.mutable_label_selector())[labels::kContainerName] = container;
  auto containers = runtime.listContainers(filter);
  std::sort(containers.begin(), containers.end(), [](const auto& a, const auto& b) {
    if (a.metadata().attempt() != b.metadata().attempt()) {
      return a.metadata().attempt() > b.metadata().attempt();
    }
    return a.created_at() > b.created_at();
  });
  const std::size_t index = previous ? 1 : 0;
  if (containers.size() <= index) {
    return std::nullopt;
  }
  const auto& chosen = containers[index];
  FoundContainer found;
  found.id = chosen.id();
  found.running = chosen.state() == cri::v1::CONTAINER_RUNNING;
  found.logPath = runtime.containerStatus(chosen.id()).status().log_path();
  return found;
}

}  // namespace kite::kubelet::server
