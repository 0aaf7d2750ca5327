#pragma once
// Liveness, readiness and startup probes of running containers, each on its
// own worker thread with upstream's timing: initialDelaySeconds after the
// container started, then every periodSeconds, each try bounded by
// timeoutSeconds; a result flips after successThreshold / failureThreshold
// consecutive outcomes. Readiness and liveness wait for the startup probe.
// Results are per container instance: a restarted container starts afresh.

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <tuple>

#include "kite/api/core/v1/types.h"
#include "kite/cri/runtime.h"
#include "kite/kubelet/runtime_pod.h"

namespace kite::kubelet {

struct ProbeResults {
  std::map<std::string, bool> ready;    // container -> readiness (only probed containers)
  std::map<std::string, bool> started;  // container -> startup probe passed
  std::set<std::string> unhealthy;      // containers to restart (liveness/startup failed)
};

class Prober {
 public:
  // `changed(uid)` is called when a result flips, so the pod is synced again;
  // `event(uid, reason, message)` reports Unhealthy events.
  using Changed = std::function<void(const std::string& podUid)>;
  // A failed probe, for the Unhealthy event: the pod, the container, the message.
  using Event = std::function<void(const std::string& podUid, const std::string& container,
                                   const std::string& message)>;

  Prober(cri::Runtime& runtime, Changed changed, Event event);
  ~Prober();
  Prober(const Prober&) = delete;
  Prober& operator=(const Prober&) = delete;

  // Starts workers for running containers with probes and stops those whose
  // container is gone or was replaced.
  void update(const api::core::v1::Pod& pod, const RuntimePod& runtime);
  void forget(const std::string& podUid);
  ProbeResults results(const std::string& podUid) const;

 private:
  class Worker;
  struct Key {
    std::string podUid;
    std::string container;
    std::string kind;  // liveness | readiness | startup
    // (Not a defaulted <=>: clang-tidy 14 misreads those as comparing with 0.)
    bool operator<(const Key& other) const {
      return std::tie(podUid, container, kind) <
             std::tie(other.podUid, other.container, other.kind);
    }
  };
  void record(const Key& key, const std::string& containerId, bool success,
              const std::string& output);

  cri::Runtime& runtime_;
  Changed changed_;
  Event event_;
  mutable std::mutex mutex_;
  std::map<Key, std::unique_ptr<Worker>> workers_;
  std::map<Key, bool> results_;  // readiness / startup result of the current instance
  std::set<Key> failed_;         // liveness / startup probes that reached failureThreshold
};

}  // namespace kite::kubelet
