#pragma once
// The kubelet: keeps the runtime in line with the desired pods. Each pod has
// its own serialized worker (a key of the KeyedExecutor); a pod is synced when
// the desired set changes, when the PLEG reports a change in the runtime, and
// every syncFrequency. Pods that are no longer desired are stopped gracefully
// and removed. On start it adopts the sandboxes and containers kite created
// before (their labels carry the pod uid), so a restart restarts nothing.

#include <chrono>
#include <map>
#include <mutex>
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
};

class Kubelet {
 public:
  Kubelet(PodSyncer& syncer, const base::Clock& clock, KubeletOptions options);
  ~Kubelet();
  Kubelet(const Kubelet&) = delete;
  Kubelet& operator=(const Kubelet&) = delete;

  void start();
  void stop();

  // The complete desired set from one source (e.g. the static pod directory).
  void setPods(const std::vector<api::core::v1::Pod>& pods);

  // Desired pods with their current status, for the status endpoint.
  std::vector<api::core::v1::Pod> pods() const;
  bool healthy() const { return pleg_.healthy(); }
  // Blocks until no work is queued or running (tests).
  void waitIdle() { workers_.waitIdle(); }

 private:
  struct PodState {
    api::core::v1::Pod pod;
    bool desired = true;
    api::Time startTime;
    std::string evicted;  // the eviction message once the kubelet evicted it
  };

  void schedule(const std::string& uid);
  void syncOne(const std::string& uid);
  void cleanupOrphans();
  void onPlegEvent(const PodLifecycleEvent& event);

  PodSyncer& syncer_;
  const base::Clock& clock_;
  KubeletOptions options_;
  mutable std::mutex mutex_;
  std::map<std::string, PodState> pods_;  // by uid
  bool sourcesSeen_ = false;
  base::KeyedExecutor workers_;
  Prober prober_;
  Pleg pleg_;
  std::jthread resync_;
};

}  // namespace kite::kubelet
