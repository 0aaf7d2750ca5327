#include "kite/kubelet/kubelet.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <condition_variable>

#include "kite/kubelet/labels.h"
#include "kite/kubelet/pod_spec.h"
#include "kite/kubelet/pod_status.h"
#include "kite/kubelet/qos.h"

namespace kite::kubelet {

namespace corev1 = api::core::v1;

Kubelet::Kubelet(PodSyncer& syncer, const base::Clock& clock, KubeletOptions options)
    : syncer_(syncer),
      clock_(clock),
      options_(std::move(options)),
      workers_(options_.workers, options_.terminationWorkers),
      prober_(
          syncer.runtime(), [this](const std::string& uid) { schedule(uid); },
          [this](const std::string& uid, const std::string& container, const std::string& message) {
            onUnhealthy(uid, container, message);
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
      {
        std::lock_guard lock(mutex_);
        for (const auto& [uid, state] : pods_) scheduleLocked(uid);
      }
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

namespace {

bool isTerminalPhase(const std::string& phase) { return phase == "Succeeded" || phase == "Failed"; }

}  // namespace

void Kubelet::setPods(const std::string& source, const std::vector<corev1::Pod>& pods) {
  applyPods(source, pods, true);
}

void Kubelet::updatePods(const std::string& source, const std::vector<corev1::Pod>& pods) {
  applyPods(source, pods, false);
}

void Kubelet::applyPods(const std::string& source, const std::vector<corev1::Pod>& pods,
                        bool syncUnchanged) {
  std::vector<std::string> changed;
  std::vector<corev1::Pod> neverRan;  // deleting pods this kubelet never ran
  {
    std::lock_guard lock(mutex_);
    std::set<std::string> inSource;
    for (const auto& pod : pods) {
      const std::string& uid = pod.metadata.uid;
      inSource.insert(uid);
      const bool deleting = pod.metadata.deletionTimestamp.has_value();
      auto it = pods_.find(uid);
      bool sync = syncUnchanged;
      if (it == pods_.end()) {
        if (deleting) {
          neverRan.push_back(pod);
          continue;
        }
        sync = true;
        it = pods_.try_emplace(uid).first;
        // An API pod keeps the status and start time it already has (a restarted kubelet).
        it->second.pod.status = pod.status;
        it->second.startTime = pod.status.startTime.value_or(api::Time(clock_.wallNow()));
        // One the API reports ended (evicted, completed, failed before the restart) is not
        // run again, as upstream's kubelet does with a terminal phase it finds at start.
        it->second.ended = isTerminalPhase(pod.status.phase);
        spdlog::info("pod {}/{} ({}) added from {}", pod.metadata.namespace_, pod.metadata.name,
                     uid, source);
      }
      auto& state = it->second;
      const bool wasDesired = state.desired;
      sync = sync || differsForSync(state.pod, pod);
      auto status = std::move(state.pod.status);
      state.pod = pod;
      state.pod.status = std::move(status);
      sync = state.sources.insert(source).second || sync;
      if (deleting && !state.deletionGrace) {
        // A pod that already ended has nothing left to stop gracefully.
        state.deletionGrace = isTerminalPhase(state.pod.status.phase)
                                  ? 0
                                  : pod.metadata.deletionGracePeriodSeconds.value_or(
                                        pod.spec.terminationGracePeriodSeconds.value_or(30));
        spdlog::info("pod {}/{} ({}) is being deleted (grace period {}s)", pod.metadata.namespace_,
                     pod.metadata.name, uid, *state.deletionGrace);
      }
      state.desired = !state.deletionGrace.has_value();
      if (sync || state.desired != wasDesired) changed.push_back(uid);
    }
    for (auto& [uid, state] : pods_) {
      if (inSource.contains(uid) || !state.sources.erase(source)) continue;
      if (state.sources.empty() && state.desired) {
        state.desired = false;
        spdlog::info("pod {}/{} ({}) removed", state.pod.metadata.namespace_,
                     state.pod.metadata.name, uid);
        changed.push_back(uid);
      }
    }
    sourcesSeen_.insert(source);
    for (const auto& uid : changed) scheduleLocked(uid);
  }
  for (const auto& pod : neverRan) {
    if (hooks_.onTerminated) hooks_.onTerminated(pod);
  }
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

void Kubelet::schedule(const std::string& uid, bool stopping) {
  workers_.submit(
      uid, [this, uid] { syncOne(uid); },
      stopping ? base::KeyedExecutor::Lane::Urgent : base::KeyedExecutor::Lane::Normal);
}

void Kubelet::scheduleLocked(const std::string& uid) {
  const auto it = pods_.find(uid);
  schedule(uid, it != pods_.end() && !it->second.desired);
}

void Kubelet::onPlegEvent(const PodLifecycleEvent& event) {
  std::lock_guard lock(mutex_);
  if (pods_.contains(event.podUid)) scheduleLocked(event.podUid);
}

void Kubelet::evict(const std::string& uid, const std::string& message) {
  workers_.submit(
      uid,
      [this, uid, message] {
        corev1::Pod pod;
        {
          std::lock_guard lock(mutex_);
          const auto it = pods_.find(uid);
          if (it == pods_.end() || !it->second.desired || !it->second.evicted.empty()) return;
          it->second.evicted = message;
          pod = it->second.pod;
        }
        emit(pod, {"Warning", "Evicted", message});
        prober_.forget(uid);
        try {
          syncer_.kill(pod, 0);
        } catch (const std::exception& e) {
          spdlog::warn("pod {}/{}: eviction kill failed (retried on the next sync): {}",
                       pod.metadata.namespace_, pod.metadata.name, e.what());
        }
        syncOne(uid);
      },
      base::KeyedExecutor::Lane::Urgent);
}

bool Kubelet::isStatic(const std::string& uid) const {
  std::lock_guard lock(mutex_);
  const auto it = pods_.find(uid);
  return it != pods_.end() && it->second.sources == std::set<std::string>{"file"};
}

void Kubelet::syncOne(const std::string& uid) {
  corev1::Pod pod;
  bool desired = false;
  api::Time startTime;
  std::string evicted;
  bool ended = false;
  {
    std::lock_guard lock(mutex_);
    auto it = pods_.find(uid);
    if (it == pods_.end()) return;
    pod = it->second.pod;
    desired = it->second.desired;
    startTime = it->second.startTime;
    evicted = it->second.evicted;
    ended = it->second.ended;
  }
  const std::string who = pod.metadata.namespace_ + "/" + pod.metadata.name;
  if (!desired) {
    std::optional<int64_t> deletionGrace;
    {
      std::lock_guard lock(mutex_);
      auto it = pods_.find(uid);
      if (it != pods_.end()) deletionGrace = it->second.deletionGrace;
    }
    stopPod(uid, pod, deletionGrace.value_or(pod.spec.terminationGracePeriodSeconds.value_or(30)));
    return;
  }
  if (ended) {
    stopEnded(pod);
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
      pleg_.seen(result.runtime);
    } else {
      prober_.forget(uid);
    }
    const ProbeResults probes = prober_.results(uid);
    for (const auto& event : result.events) emit(pod, event);
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
    corev1::Pod reported;
    {
      std::lock_guard lock(mutex_);
      auto it = pods_.find(uid);
      if (it == pods_.end() || !it->second.desired) return;
      it->second.pod.status = std::move(status);
      it->second.evicted = evicted;
      reported = it->second.pod;
    }
    if (hooks_.onStatus) hooks_.onStatus(reported);
  } catch (const std::exception& e) {
    spdlog::error("pod {}: sync failed: {}", who, e.what());
  }
}

void Kubelet::stopEnded(const corev1::Pod& pod) {
  const std::string who = pod.metadata.namespace_ + "/" + pod.metadata.name;
  try {
    const auto runtime = syncer_.observe(pod);
    const bool running = std::any_of(runtime.containers.begin(), runtime.containers.end(),
                                     [](const auto& c) { return c.running(); });
    if (!running) return;
    spdlog::info("pod {}: reported {} but still running: stopping it", who, pod.status.phase);
    syncer_.kill(pod, pod.spec.terminationGracePeriodSeconds.value_or(30));
  } catch (const std::exception& e) {
    spdlog::warn("pod {}: stopping an ended pod failed (retried on the next sync): {}", who,
                 e.what());
  }
}

void Kubelet::stopPod(const std::string& uid, const corev1::Pod& pod, int64_t grace) {
  const std::string who = pod.metadata.namespace_ + "/" + pod.metadata.name;
  spdlog::info("pod {}: stopping (grace period {}s)", who, grace);
  prober_.forget(uid);
  corev1::Pod final = pod;
  try {
    for (const auto& container : syncer_.observe(pod).containers) {
      if (!container.running()) continue;
      emit(pod, {"Normal", "Killing", "Stopping container " + container.name,
                 containerFieldPath(pod, container.name)});
    }
    syncer_.kill(pod, grace);
    // The final status: every container terminated, the phase terminal.
    StatusInputs inputs;
    inputs.hostIP = syncer_.node().hostIP;
    inputs.previous = &pod.status;
    inputs.startTime = pod.status.startTime.value_or(api::Time(clock_.wallNow()));
    final.status = podStatus(pod, syncer_.observe(pod), inputs);
    final.status.qosClass = qosClassName(qosClassOf(pod.spec));
    if (!isTerminalPhase(final.status.phase)) {
      bool allSucceeded = true;
      for (const auto& s : final.status.containerStatuses) {
        if (!s.state.terminated || s.state.terminated->exitCode != 0) allSucceeded = false;
      }
      final.status.phase = allSucceeded ? "Succeeded" : "Failed";
    }
  } catch (const std::exception& e) {
    spdlog::warn("pod {}: graceful stop failed, removing it anyway: {}", who, e.what());
  }
  syncer_.remove(uid, pod.metadata.namespace_ + "_" + pod.metadata.name + "_" + uid);
  spdlog::info("pod {}: removed", who);
  {
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
      return;
    }
  }
  if (hooks_.onTerminated) hooks_.onTerminated(final);
}

void Kubelet::onUnhealthy(const std::string& uid, const std::string& container,
                          const std::string& message) {
  corev1::Pod pod;
  {
    std::lock_guard lock(mutex_);
    const auto it = pods_.find(uid);
    if (it == pods_.end()) return;
    pod = it->second.pod;
  }
  emit(pod, {"Warning", "Unhealthy", message, containerFieldPath(pod, container)});
}

void Kubelet::emit(const corev1::Pod& pod, const PodEvent& event) const {
  spdlog::info("pod {}/{}: {} {}: {}", pod.metadata.namespace_, pod.metadata.name, event.type,
               event.reason, event.message);
  if (hooks_.onEvent) hooks_.onEvent(pod, event);
}

void Kubelet::cleanupOrphans() {
  std::set<std::string> known;
  {
    std::lock_guard lock(mutex_);
    // Not before every source said what it wants.
    if (sourcesSeen_.empty()) return;
    for (const auto& source : options_.sources) {
      if (!sourcesSeen_.contains(source)) return;
    }
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
    workers_.submit(
        uid,
        [this, uid = uid, logDir = logDir] {
          spdlog::info("stopping pod {} that is no longer desired", uid);
          try {
            const int64_t grace = syncer_.killOrphan(uid);
            spdlog::info("pod {}: stopped (grace period {}s)", uid, grace);
          } catch (const std::exception& e) {
            spdlog::warn("pod {}: graceful stop failed, removing it anyway: {}", uid, e.what());
          }
          syncer_.remove(uid, logDir);
        },
        base::KeyedExecutor::Lane::Urgent);
  }
}

}  // namespace kite::kubelet
