#pragma once
// Carries out one pod's sync against the runtime: volumes, pod cgroup,
// sandbox, images, init containers, containers, lifecycle hooks, and graceful
// termination. Decisions come from computePodActions; this class only acts and
// records why a container could not be started (its waiting reason).

#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "kite/api/core/v1/types.h"
#include "kite/base/backoff.h"
#include "kite/base/clock.h"
#include "kite/cri/runtime.h"
#include "kite/kubelet/config_source.h"
#include "kite/kubelet/image_manager.h"
#include "kite/kubelet/pod_actions.h"
#include "kite/kubelet/pod_cgroups.h"
#include "kite/kubelet/runtime_pod.h"
#include "kite/kubelet/volume_manager.h"

namespace kite::kubelet {

struct NodeFacts {
  std::string nodeName;
  std::string hostIP;
  int64_t memoryCapacity = 0;
  int64_t allocatableMilliCpu = 0;
  std::filesystem::path podLogsRoot = "/var/log/pods";
  std::filesystem::path seccompProfileRoot = "/var/lib/kubelet/seccomp";
  std::filesystem::path resolvConf = "/etc/resolv.conf";
  std::vector<std::string> clusterDns;
  std::string clusterDomain = "cluster.local";
};

// Something worth an event ("Pulling", "Started", "BackOff", "FailedMount"...).
struct PodEvent {
  std::string type;  // Normal | Warning
  std::string reason;
  std::string message;
  // The part of the pod it is about, as upstream's involvedObject.fieldPath
  // ("spec.containers{web}", "spec.initContainers{setup}"); empty: the pod.
  std::string fieldPath{};
};

// "spec.containers{name}" or "spec.initContainers{name}" for a container of the pod.
inline std::string containerFieldPath(const api::core::v1::Pod& pod, const std::string& name) {
  for (const auto& c : pod.spec.initContainers) {
    if (c.name == name) return "spec.initContainers{" + name + "}";
  }
  return "spec.containers{" + name + "}";
}

struct SyncResult {
  RuntimePod runtime;  // as it is after the sync
  std::map<std::string, Waiting> waiting;
  std::string podError;
  bool terminal = false;
  // Non-empty when this sync evicted the pod (its containers are stopped and
  // must not be started again): the status message.
  std::string evicted;
  std::vector<PodEvent> events;
};

class PodSyncer {
 public:
  PodSyncer(cri::Runtime& runtime, cri::Images& images, VolumeManager& volumes,
            const PodCgroups& cgroups, ConfigSource& config, const base::Clock& clock,
            NodeFacts node);

  SyncResult sync(const api::core::v1::Pod& pod, const std::set<std::string>& unhealthy);

  // The runtime's view of a pod without acting on it (an evicted pod's status).
  RuntimePod observe(const api::core::v1::Pod& pod);

  // Graceful stop: preStop hooks, then SIGTERM with the grace period, then
  // SIGKILL (the runtime's StopContainer); then the sandbox.
  void kill(const api::core::v1::Pod& pod, int64_t gracePeriodSeconds);

  // Graceful stop of a pod whose spec is gone (its manifest was removed while
  // the kubelet was down): grace period and preStop hooks come from the
  // annotations kite put on its containers. Returns the grace period used.
  int64_t killOrphan(const std::string& podUid);

  // Removes every trace of a pod kite created: containers, sandboxes, volumes
  // (not hostPath data), the pod cgroup and the pod's log directory.
  void remove(const std::string& podUid, const std::string& logDirName);

  std::filesystem::path podLogDir(const api::core::v1::Pod& pod) const;
  const NodeFacts& node() const { return node_; }
  cri::Runtime& runtime() { return runtime_; }

 private:
  // The id of the container it created (started or not), or "" when none was.
  std::string startContainer(const api::core::v1::Pod& pod, const ContainerToStart& which,
                             const std::string& sandboxId, const cri::v1::PodSandboxConfig& sandbox,
                             const std::map<std::string, std::string>& volumePaths,
                             const PodRuntimeFacts& facts, SyncResult& result);
  void stopContainer(const api::core::v1::Pod& pod, const RuntimeContainer& container,
                     const std::string& podIP, int64_t gracePeriodSeconds);
  cri::v1::PodSandboxConfig sandboxFor(const api::core::v1::Pod& pod, uint32_t attempt) const;
  // Stops and removes the listed not-ready sandboxes; before a new sandbox (stopOthers) the
  // pod's other not-ready ones are stopped too.
  void retireSandboxes(const api::core::v1::Pod& pod, const RuntimePod& runtime,
                       const std::vector<std::string>& toRemove, bool stopOthers);
  void fillTerminationMessages(const api::core::v1::Pod& pod, RuntimePod& runtime) const;
  PodRuntimeFacts factsFor(const RuntimePod& runtime) const;
  // The eviction message when a disk emptyDir is over its sizeLimit.
  std::string emptyDirEviction(const api::core::v1::Pod& pod) const;

  cri::Runtime& runtime_;
  ImageManager images_;
  VolumeManager& volumes_;
  const PodCgroups& cgroups_;
  ConfigSource& config_;
  const base::Clock& clock_;
  NodeFacts node_;
  base::Backoff crashBackoff_;
};

}  // namespace kite::kubelet
