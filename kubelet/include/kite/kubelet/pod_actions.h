#pragma once
// What one sync of a pod must do, computed from its spec and what the runtime
// has — the kubelet's core decision, kept free of I/O so every rule (init
// containers in order, restart policies, CrashLoopBackOff, sidecars, spec
// changes, dead sandboxes) is unit-tested on its own.

#include <cstddef>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "kite/api/core/v1/types.h"
#include "kite/base/backoff.h"
#include "kite/kubelet/runtime_pod.h"

namespace kite::kubelet {

struct Waiting {
  std::string reason;
  std::string message;
};

struct ContainerToStart {
  std::size_t index;  // into spec.initContainers (init) or spec.containers
  bool init;
  int restartCount;
};

struct ContainerToKill {
  std::string id;
  std::string name;
  std::string reason;  // why, for the Killing event
};

struct PodActions {
  bool killPod = false;        // stop every container and the sandbox
  bool createSandbox = false;  // then start over in a new sandbox
  // The new sandbox's metadata.attempt: one more than any sandbox of the pod has, so its
  // name differs from every name the runtime may still hold reserved.
  uint32_t sandboxAttempt = 0;
  // Not-ready sandboxes to stop and remove: before a new one is made, all but the one
  // holding the pod's newest container (its restart counts and lastState live there);
  // beside a ready one, those holding no containers.
  std::vector<std::string> sandboxesToRemove;
  std::string sandboxId;  // the ready sandbox to use when not creating one
  std::vector<ContainerToStart> toStart;
  std::vector<ContainerToKill> toKill;
  std::map<std::string, Waiting> waiting;  // container name -> why it is not started now
  // The pod reached a terminal state (restartPolicy says no more restarts).
  bool terminal = false;
};

// Inputs besides spec and runtime: the crash back-off (keys "<uid>/<container>")
// and the containers whose liveness or startup probe says "restart".
struct ActionInputs {
  const base::Backoff* crashBackoff = nullptr;
  const base::Clock* clock = nullptr;
  std::set<std::string> unhealthy;  // container names
  // Hash of each container spec, keyed by name; a running container whose
  // hash differs is restarted (the spec changed).
  std::map<std::string, std::string> hashes;
};

PodActions computePodActions(const api::core::v1::Pod& pod, const RuntimePod& runtime,
                             const ActionInputs& inputs);

// Stable hash of a container's spec (its canonical JSON).
std::string containerHash(const api::core::v1::Container& container);

// Back-off key of a container of a pod.
std::string backoffKey(const api::core::v1::Pod& pod, const std::string& container);

}  // namespace kite::kubelet
