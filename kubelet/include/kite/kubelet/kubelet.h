#pragma once
// The kubelet: keeps the runtime in line with the desired pods. Each pod has
// its own serialized worker (a key of the KeyedExecutor); a pod is synced when
// the desired set changes, when the PLEG reports a change in the runtime, and
// every syncFrequency. Pods that are no longer desired are stopped gracefully
// and removed. On start it adopts the sandboxes and containers kite created
// before (their labels carry the pod uid), so a restart restarts nothing.
//
// Pods come from several sources ("file" static pods, "api" pods bound to the
// node); each source sends its complete set, and a pod stays desired while any
// source has it. A pod whose metadata.deletionTimestamp is set is stopped
// with its deletionGracePeriodSeconds; hooks then report its final status so
// the API side can delete it for good.

#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "kite/api/core/v1/types.h"
#include "kite/base/keyed_executor.h"
#include "kite/kubelet/pleg.h"
#include "kite/kubelet/pod_syncer.h"
#include "kite/kubelet/prober.h"

namespace kite::kubelet {

struct KubeletOptions {
  std::chrono::milliseconds syncFrequency{std::chrono::seconds(10)};
  std::chrono::milliseconds plegPeriod{std::chrono::seconds(1)};
  std::size_t workers = 8;
  // Threads that only stop pods, beside the workers: many pods deleted at once mostly wait
  // on the runtime's StopPodSandbox, so they need not queue behind the bound tuned for
  // starting pods (upstream's kubelet has a goroutine per pod, unbounded).
  std::size_t terminationWorkers = 24;
  // The sources whose first setPods must have come before pods the kubelet does
  // not know are treated as orphans. Empty: the first setPods of any source.
  std::set<std::string> sources;
};

// What the kubelet reports to the API side (status manager, event recorder).
// Called on the pod's worker thread, never under the kubelet's lock.
struct KubeletHooks {
  // After each sync of a desired pod: the pod with its computed status.
  std::function<void(const api::core::v1::Pod&)> onStatus{};
  // Once a pod that is no longer desired is stopped and removed: the pod with
  // its final status (every container terminated). Also for a deleting pod the
  // kubelet never ran (nothing to stop).
  std::function<void(const api::core::v1::Pod&)> onTerminated{};
  // Something worth an event (Pulling, Started, Killing, Unhealthy...).
  std::function<void(const api::core::v1::Pod&, const PodEvent&)> onEvent{};
};

class Kubelet {
 public:
  Kubelet(PodSyncer& syncer, const base::Clock& clock, KubeletOptions options);
  ~Kubelet();
  Kubelet(const Kubelet&) = delete;
  Kubelet& operator=(const Kubelet&) = delete;

  // Set before start().
  void setHooks(KubeletHooks hooks) { hooks_ = std::move(hooks); }

  void start();
  void stop();

  // The complete desired set from one source ("file", "api"); every pod in it is synced.
  void setPods(const std::string& source, const std::vector<api::core::v1::Pod>& pods);
  // The same, but only pods that are new, removed, or changed in what the kubelet acts on
  // (spec, labels, annotations, deletion) are synced now; the others wait for the periodic
  // resync, as upstream's config sources send only changes. For sources that hand over their
  // whole set on every change: an API pod's status write comes back as a watch event.
  void updatePods(const std::string& source, const std::vector<api::core::v1::Pod>& pods);
  // The static pod directory's set (source "file").
  void setPods(const std::vector<api::core::v1::Pod>& pods) { setPods("file", pods); }

  // Desired pods with their current status, for the status endpoint.
  std::vector<api::core::v1::Pod> pods() const;
  bool healthy() const { return pleg_.healthy(); }
  // Node-pressure eviction: the pod is killed at once (no grace period), never started again,
  // and reported Failed with reason Evicted and this message.
  void evict(const std::string& uid, const std::string& message);
  // True for a pod only the static pod directory has (critical to the node: not evicted).
  bool isStatic(const std::string& uid) const;
  // Blocks until no work is queued or running (tests).
  void waitIdle() { workers_.waitIdle(); }

 private:
  struct PodState {
    api::core::v1::Pod pod;
    bool desired = true;
    std::set<std::string> sources;  // the sources that have it
    // Set once the pod is being deleted (deletionTimestamp): the grace period.
    std::optional<int64_t> deletionGrace;
    api::Time startTime;
    std::string evicted;  // the eviction message once the kubelet evicted it
    // First seen already Succeeded or Failed (a restarted kubelet, the API's status): never
    // started again, only stopped if anything of it still runs; its status stays the API's.
    bool ended = false;
  };

  void applyPods(const std::string& source, const std::vector<api::core::v1::Pod>& pods,
                 bool syncUnchanged);
  // A sync on the pod's worker; `stopping` (a pod no longer desired) takes the urgent lane,
  // where the termination workers help.
  void schedule(const std::string& uid, bool stopping = false);
  // The same with the lock held: the lane from the pod's state.
  void scheduleLocked(const std::string& uid);
  void syncOne(const std::string& uid);
  void stopPod(const std::string& uid, const api::core::v1::Pod& pod, int64_t grace);
  void stopEnded(const api::core::v1::Pod& pod);
  void cleanupOrphans();
  void emit(const api::core::v1::Pod& pod, const PodEvent& event) const;
  void onUnhealthy(const std::string& uid, const std::string& container,
                   const std::string& message);
  void onPlegEvent(const PodLifecycleEvent& event);

  PodSyncer& syncer_;
  const base::Clock& clock_;
  KubeletOptions options_;
  mutable std::mutex mutex_;
  std::map<std::string, PodState> pods_;  // by uid
  std::set<std::string> sourcesSeen_;
  KubeletHooks hooks_;
  base::KeyedExecutor workers_;
  Prober prober_;
  Pleg pleg_;
  std::jthread resync_;
};

}  // namespace kite::kubelet
