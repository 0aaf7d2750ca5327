#pragma once
// The pod's status as upstream reports it: phase, conditions, and per-container
// state/lastState/ready/started/restartCount with upstream's reason strings,
// generated from the spec, the runtime's view and what the last sync decided.

#include <map>
#include <optional>
#include <string>

#include "kite/api/core/v1/types.h"
#include "kite/kubelet/pod_actions.h"
#include "kite/kubelet/runtime_pod.h"

namespace kite::kubelet {

struct StatusInputs {
  std::map<std::string, Waiting> waiting;  // from the last sync (ErrImagePull, CrashLoopBackOff...)
  std::map<std::string, bool> ready;       // readiness probe results by container
  std::map<std::string, bool> started;     // startup probe results by container
  std::string runtimeName = "containerd";  // containerID prefix
  std::string hostIP;
  api::Time startTime;
  // The previous status, so conditions keep their lastTransitionTime.
  const api::core::v1::PodStatus* previous = nullptr;
  std::string podError;  // a pod-level problem (e.g. a volume that cannot be set up)
  // Set once the kubelet evicted the pod (e.g. an emptyDir over its
  // sizeLimit): the pod is Failed with reason Evicted and this message.
  std::string evictedMessage;
};

api::core::v1::PodStatus podStatus(const api::core::v1::Pod& pod, const RuntimePod& runtime,
                                   const StatusInputs& inputs);

// Upstream's getPhase over container statuses.
std::string podPhase(const api::core::v1::PodSpec& spec, const api::core::v1::PodStatus& status);

}  // namespace kite::kubelet
