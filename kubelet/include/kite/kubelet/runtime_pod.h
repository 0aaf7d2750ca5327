#pragma once
// What the runtime has for one pod: its sandboxes and container instances
// (kite-created only), newest first, with full statuses. The pod worker reads
// this at the start of each sync; status and actions are computed from it.

#include <optional>
#include <string>
#include <vector>

#include "kite/cri/runtime.h"

namespace kite::kubelet {

struct RuntimeContainer {
  cri::v1::ContainerStatus status;
  std::string podSandboxId;
  std::string name;  // io.kubernetes.container.name
  bool init = false;
  std::string hash;  // io.kubernetes.container.hash
  int restartCount = 0;

  const std::string& id() const { return status.id(); }
  bool running() const { return status.state() == cri::v1::CONTAINER_RUNNING; }
  bool created() const { return status.state() == cri::v1::CONTAINER_CREATED; }
  bool exited() const { return status.state() == cri::v1::CONTAINER_EXITED; }
};

struct RuntimePod {
  std::string uid;
  std::vector<cri::v1::PodSandboxStatus> sandboxes;  // newest first
  std::vector<RuntimeContainer> containers;          // newest first

  const cri::v1::PodSandboxStatus* newestSandbox() const {
    return sandboxes.empty() ? nullptr : &sandboxes.front();
  }
  bool sandboxReady() const {
    return !sandboxes.empty() && sandboxes.front().state() == cri::v1::SANDBOX_READY;
  }
  // Newest instance of a container, optionally only within one sandbox.
  const RuntimeContainer* latest(const std::string& name, const std::string& sandboxId = "") const;
  // The instance before the newest (for lastState).
  const RuntimeContainer* previous(const std::string& name) const;
  bool anyRunning() const;
};

// Lists by the pod uid label; a sandbox or container that disappears between
// list and status is skipped (it was being removed).
RuntimePod readRuntimePod(cri::Runtime& runtime, const std::string& podUid);

// Reads these containers' statuses again into `pod` (added when new, in `podSandboxId`;
// dropped when gone), keeping it newest first as readRuntimePod orders it.
void refreshContainers(cri::Runtime& runtime, RuntimePod& pod, const std::vector<std::string>& ids,
                       const std::string& podSandboxId);

}  // namespace kite::kubelet
