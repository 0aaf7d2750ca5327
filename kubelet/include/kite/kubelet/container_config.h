#pragma once
// The CRI configuration of one container (CreateContainer), built as
// upstream's kubelet builds it: metadata, image, command and args with $(VAR)
// expansion, working directory, environment, mounts, log path, stdio flags,
// labels and annotations, and the Linux resources and security context.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "kite/api/core/v1/types.h"
#include "kite/cri/api.h"
#include "kite/kubelet/container_env.h"
#include "kite/kubelet/pod_cgroups.h"
#include "kite/kubelet/security_context.h"

namespace kite::kubelet {

struct ContainerOptions {
  uint32_t restartCount = 0;  // metadata.attempt and the log file name
  bool isInit = false;
  EnvList env;  // containerEnv(...), already resolved
  // The container's volumes resolved to host paths; readOnly and
  // mountPropagation are applied here from the matching volumeMount.
  std::vector<cri::v1::Mount> mounts;
  std::string containerHash;  // io.kubernetes.container.hash
  QosClass qos = QosClass::kBestEffort;
  int64_t memoryCapacity = 0;                // node memory in bytes, for oom_score_adj
  std::filesystem::path seccompProfileRoot;  // <root-dir>/seccomp
  bool seccompDefault = false;               // kubelet --seccomp-default
  // Host file mounted at terminationMessagePath; empty: none.
  std::string terminationMessageHostPath;
  // Host file mounted at /etc/hosts (etcHostsContent or, for hostNetwork
  // pods, hostNetworkEtcHostsContent); empty: none.
  std::string etcHostsPath;
  // The pulled image's id; the runtime is then told exactly which image to
  // run, with container.image as the user-specified name. Empty: container.image.
  std::string imageRef;
  // imageUserOf(ImageStatus(...).image()); nullopt: unknown (see
  // SecurityContextOptions::imageUser).
  std::optional<ImageUser> imageUser;
};

// <container name>/<restart count>.log, relative to the sandbox's log directory.
std::string containerLogPath(const std::string& containerName, uint32_t restartCount);

// Throws ContainerConfigError (runAsNonRoot, Bidirectional propagation of an
// unprivileged container, a bad seccomp profile...).
cri::v1::ContainerConfig containerConfig(const api::core::v1::Pod& pod,
                                         const api::core::v1::Container& container,
                                         const ContainerOptions& options);

}  // namespace kite::kubelet
