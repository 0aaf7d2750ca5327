#include "kite/kubelet/kubelet.h"

#include <spdlog/spdlog.h>

#include <condition_variable>

#include "kite/kubelet/labels.h"
#include "kite/kubelet/pod_status.h"
#include "kite/kubelet/qos.h"

namespace kite::kubelet {

namespace corev1 = api::core::v1;

Kubelet::Kubelet(PodSyncer& syncer, const base::Clock& clock, KubeletOptions options)
    : syncer_(syncer),
      clock_(clock),
      options_(options),
      workers_(options.workers),
      prober_(
          syncer.runtime(), [this](const std::string& uid) { schedule(uid); },
          [](const std::string& uid, const std::string& message) {
            spdlog::warn("pod {}: Warning Unhealthy: {}", uid, message);
          }),
      pleg_(syncer.runtime(), clock, [this](const PodLifecycleEvent& e) { onPlegEvent(e); }) {}

Kubelet::~Kubelet() { stop(); }

void Kubelet::start() {
  pleg_.start(options_.plegPeriod);
  resync_ = std::jthread([this](const std::stop_token& stop) {
    std::mutex waitMutex;
    std::condition_variable_any wake;
    while (!stop.stop_requested()) {
      {
        std::unique_lock lock(waitMutex);
        wake.wait_for(lock, stop, options_.syncFrequency, [] { return false; });
      }
      if (stop.stop_requested()) break;
      std::vector<std::string> uids;
      {
        std::lock_guard lock(mutex_);
        for (const auto& [uid, state] : pods_) uids.push_back(uid);
      }
      for (const auto& uid : uids) schedule(uid);
      cleanupOrphans();
    }
  });
}

void Kubelet::stop() {
  if (resync_.joinable()) {
    resync_.request_stop();
    resync_.join();
  }
  pleg_.stop();
  workers_.waitIdle();
}

void Kubelet::setPods(const std::vector<corev1::Pod>& pods) {
  std::vector<std::string> changed;
  {
    std::lock_guard lock(mutex_);
    std::set<std::string> desired;
    for (const auto& pod : pods) {
      desired.insert(pod.metadata.uid);
      auto [it, inserted] = pods_.try_emplace(pod.metadata.uid);
      if (inserted) {
        it->second.startTime = api::Time(clock_.wallNow());
        spdlog::info("pod {}/{} ({}) added", pod.metadata.namespace_, pod.metadata.name,
                     pod.metadata.uid);
      }
      const auto status = it->second.pod.status;
      it->second.pod = pod;
      it->second.pod.status = status;
      it->second.desired = true;
      changed.push_back(pod.metadata.uid);
    }
    for (auto& [uid, state] : pods_) {
      if (!desired.contains(uid) && state.desired) {
        state.desired = false;
        spdlog::info("pod {}/{} ({}) removed", state.pod.metadata.namespace_,
                     state.pod.metadata.name, uid);
        changed.push_back(uid);
      }
    }
    sourcesSeen_ = true;
  }
  for (const auto& uid : changed) schedule(uid);
  cleanupOrphans();
}

std::vector<corev1::Pod> Kubelet::pods() const {
  std::lock_guard lock(mutex_);
  std::vector<corev1::Pod> out;
  for (const auto& [uid, state] : pods_) {
    if (state.desired) out.push_back(state.pod);
  }
  return out;
}

void Kubelet::schedule(const std::string& uid) {
  workers_.submit(uid, [this, uid] { syncOne(uid); });
}

void Kubelet::onPlegEvent(const PodLifecycleEvent& event) {
  std::lock_guard lock(mutex_);
  if (pods_.contains(event.podUid)) schedule(event.podUid);
}

void Kubelet::syncOne(const std::string& uid) {
  corev1::Pod pod;
  bool desired = false;
  api::Time startTime;
  std::string evicted;
  {
    std::lock_guard lock(mutex_);
    auto it = pods_.find(uid);
    if (it == pods_.end()) return;
    pod = it->second.pod;
    desired = it->second.desired;
    startTime = it->second.startTime;
    evicted = it->second.evicted;
  }
  const std::string who = pod.metadata.namespace_ + "/" + pod.metadata.name;
  if (!desired) {
    const int64_t grace = pod.spec.terminationGracePeriodSeconds.value_or(30);
    spdlog::info("pod {}: stopping (grace period {}s)", who, grace);
    prober_.forget(uid);
    syncer_.kill(pod, grace);
    syncer_.remove(uid, pod.metadata.namespace_ + "_" + pod.metadata.name + "_" + uid);
    spdlog::info("pod {}: removed", who);
    std::lock_guard lock(mutex_);
    auto it = pods_.find(uid);
    if (it == pods_.end()) return;
    if (!it->second.desired) {
      pods_.erase(it);
    } else {
      // Re-added while it was being removed: start over from a clean status.
      it->second.pod.status = {};
      it->second.startTime = api::Time(clock_.wallNow());
      schedule(uid);
    }
    return;
  }
  try {
    SyncResult result;
    if (evicted.empty()) {
      result = syncer_.sync(pod, prober_.results(uid).unhealthy);
      evicted = result.evicted;
    } else {
      result.runtime = syncer_.observe(pod);  // an evicted pod is only reported
    }
    if (evicted.empty()) {
      prober_.update(pod, result.runtime);
    } else {
      prober_.forget(uid);
    }
    const ProbeResults probes = prober_.results(uid);
    for (const auto& event : result.events) {
      spdlog::info("pod {}: {} {}: {}", who, event.type, event.reason, event.message);
    }
    StatusInputs inputs;
    inputs.waiting = result.waiting;
    inputs.ready = probes.ready;
    inputs.started = probes.started;
    inputs.hostIP = syncer_.node().hostIP;
    inputs.startTime = startTime;
    inputs.previous = &pod.status;
    inputs.podError = result.podError;
    inputs.evictedMessage = evicted;
    auto status = podStatus(pod, result.runtime, inputs);
    status.qosClass = qosClassName(qosClassOf(pod.spec));
    std::lock_guard lock(mutex_);
    auto it = pods_.find(uid);
    if (it != pods_.end()) {
      it->second.pod.status = std::move(status);
      it->second.evicted = evicted;
    }
  } catch (const std::exception& e) {
    spdlog::error("pod {}: sync failed: {}", who, e.what());
  }
}

void Kubelet::cleanupOrphans() {
  std::set<std::string> known;
  {
    std::lock_guard lock(mutex_);
    if (!sourcesSeen_) return;  // not before we know what is desired
    for (const auto& [uid, state] : pods_) known.insert(uid);
  }
  cri::v1::PodSandboxFilter filter;
  (*filter.mutable_label_selector())[labels::kManagedBy] = labels::kManagedByValue;
  std::map<std::string, std::string> orphans;  // uid -> log dir name
  try {
    for (const auto& sandbox : syncer_.runtime().listPodSandbox(filter)) {
      const auto& l = sandbox.labels();
      auto uid = l.find(labels::kPodUid);
      if (uid == l.end() || known.contains(uid->second)) continue;
      orphans[uid->second] =
          sandbox.metadata().namespace_() + "_" + sandbox.metadata().name() + "_" + uid->second;
    }
  } catch (const cri::Error& e) {
    spdlog::warn("cleanup: cannot list sandboxes: {}", e.what());
    return;
  }
  for (const auto& [uid, logDir] : orphans) {
    workers_.submit(uid, [this, uid = uid, logDir = logDir] {
      spdlog::info("stopping pod {} that is no longer desired", uid);
      try {
        const int64_t grace = syncer_.killOrphan(uid);
        spdlog::info("pod {}: stopped (grace period {}s)", uid, grace);
      } catch (const std::exception& e) {
        spdlog::warn("pod {}: graceful stop failed, removing it anyway: {}", uid, e.what());
      }
      syncer_.remove(uid, logDir);
    });
  }
}

}  // namespace kite::kubelet
