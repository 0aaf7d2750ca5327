#include "kite/kubelet/pod_actions.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>

#include "kite/api/json.h"

namespace kite::kubelet {

namespace corev1 = api::core::v1;

std::string containerHash(const corev1::Container& container) {
  // FNV-1a over the canonical JSON: stable across restarts of the kubelet,
  // unlike std::hash, so an adopted container is not seen as changed.
  uint64_t hash = 1469598103934665603ULL;
  for (const unsigned char c : api::encodeJson(container)) {
    hash ^= c;
    hash *= 1099511628211ULL;
  }
  char text[17];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(hash));
  return text;
}

std::string backoffKey(const corev1::Pod& pod, const std::string& container) {
  return pod.metadata.uid + "/" + container;
}

namespace {

bool shouldRestart(const std::string& restartPolicy, int exitCode) {
  if (restartPolicy == "Never") return false;
  if (restartPolicy == "OnFailure") return exitCode != 0;
  return true;  // Always (the default)
}

// True when the container's crash back-off has not yet run out since it died.
bool inBackoff(const corev1::Pod& pod, const RuntimeContainer& dead, const ActionInputs& in) {
  if (in.crashBackoff == nullptr || in.clock == nullptr) return false;
  const auto finishedWall = std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(
          std::chrono::nanoseconds(dead.status.finished_at())));
  const auto age = in.clock->wallNow() - finishedWall;
  const auto finishedMono =
      in.clock->now() - std::chrono::duration_cast<std::chrono::steady_clock::duration>(age);
  return in.crashBackoff->isInBackoffSince(backoffKey(pod, dead.name), finishedMono);
}

std::string crashLoopMessage(const corev1::Pod& pod, const std::string& name,
                             const ActionInputs& in) {
  const auto seconds = in.crashBackoff == nullptr
                           ? 0
                           : std::chrono::duration_cast<std::chrono::seconds>(
                                 in.crashBackoff->get(backoffKey(pod, name)))
                                 .count();
  return "back-off " + std::to_string(seconds) + "s restarting failed container=" + name +
         " pod=" + pod.metadata.name + "_" + pod.metadata.namespace_ + "(" + pod.metadata.uid + ")";
}

bool isSidecar(const corev1::Container& c) { return c.restartPolicy.value_or("") == "Always"; }

}  // namespace

PodActions computePodActions(const corev1::Pod& pod, const RuntimePod& runtime,
                             const ActionInputs& in) {
  PodActions actions;
  const std::string restartPolicy =
      pod.spec.restartPolicy.empty() ? "Always" : pod.spec.restartPolicy;
  const auto& initContainers = pod.spec.initContainers;
  const auto& containers = pod.spec.containers;

  // Did every regular container already run to an end the policy accepts?
  auto allRegularFinished = [&] {
    for (const auto& c : containers) {
      const auto* latest = runtime.latest(c.name);
      if (latest == nullptr || !latest->exited()) return false;
      if (shouldRestart(restartPolicy, latest->status.exit_code())) return false;
    }
    return !containers.empty();
  };

  if (!runtime.sandboxReady()) {
    if (!runtime.sandboxes.empty() && allRegularFinished()) {
      actions.terminal = true;  // done, nothing to restart
      return actions;
    }
    if (!runtime.sandboxes.empty() && restartPolicy == "Never" && !runtime.containers.empty()) {
      // The sandbox died (or was stopped) after containers - init ones too -
      // had run: under Never nothing may run again, as upstream decides.
      actions.terminal = true;
      actions.killPod = true;
      return actions;
    }
    actions.createSandbox = true;
    actions.killPod = !runtime.sandboxes.empty();
    // The newest attempt + 1, counted over every sandbox: one whose creation failed half-way
    // (the runtime could not clean it up and keeps its name reserved) has no creation time
    // and is not the newest listed, yet its attempt is taken.
    for (const auto& sandbox : runtime.sandboxes) {
      actions.sandboxAttempt = std::max(actions.sandboxAttempt, sandbox.metadata().attempt() + 1);
    }
    const std::string keep =
        runtime.containers.empty() ? "" : runtime.containers.front().podSandboxId;
    for (const auto& sandbox : runtime.sandboxes) {
      if (sandbox.state() != cri::v1::SANDBOX_READY && sandbox.id() != keep) {
        actions.sandboxesToRemove.push_back(sandbox.id());
      }
    }
    // A new sandbox starts with the first init container (or the containers). Restart counts
    // go on from the old sandbox's instances, as upstream counts them (and so each instance
    // keeps its own log file).
    const auto countFrom = [&](const std::string& name) {
      const auto* latest = runtime.latest(name);
      return latest == nullptr ? 0 : latest->restartCount + 1;
    };
    for (std::size_t i = 0; i < initContainers.size(); ++i) {
      actions.toStart.push_back({i, true, countFrom(initContainers[i].name)});
      if (!isSidecar(initContainers[i])) return actions;
    }
    for (std::size_t i = 0; i < containers.size(); ++i) {
      actions.toStart.push_back({i, false, countFrom(containers[i].name)});
    }
    return actions;
  }

  const std::string sandboxId = runtime.sandboxes.front().id();
  actions.sandboxId = sandboxId;
  // A not-ready sandbox without containers is of no more use: typically one whose creation
  // failed and whose removal before the next attempt failed too.
  for (const auto& sandbox : runtime.sandboxes) {
    if (sandbox.state() == cri::v1::SANDBOX_READY) continue;
    const bool empty =
        std::none_of(runtime.containers.begin(), runtime.containers.end(),
                     [&](const RuntimeContainer& c) { return c.podSandboxId == sandbox.id(); });
    if (empty) actions.sandboxesToRemove.push_back(sandbox.id());
  }
  auto restartCountOf = [&](const std::string& name) {
    const auto* latest = runtime.latest(name);
    return latest == nullptr ? 0 : latest->restartCount + 1;
  };

  // Init containers, in order, each to success before the next; sidecars
  // (restartPolicy: Always) start in their turn and keep running.
  for (std::size_t i = 0; i < initContainers.size(); ++i) {
    const auto& init = initContainers[i];
    const auto* latest = runtime.latest(init.name, sandboxId);
    if (isSidecar(init)) {
      if (latest == nullptr) {
        actions.toStart.push_back({i, true, restartCountOf(init.name)});
        return actions;  // the next init waits for the sidecar to be started
      }
      if (latest->exited()) {
        if (inBackoff(pod, *latest, in)) {
          actions.waiting[init.name] = {"CrashLoopBackOff", crashLoopMessage(pod, init.name, in)};
        } else {
          actions.toStart.push_back({i, true, latest->restartCount + 1});
        }
      }
      continue;
    }
    if (latest == nullptr) {
      actions.toStart.push_back({i, true, restartCountOf(init.name)});
      return actions;
    }
    if (latest->running() || latest->created()) return actions;  // still initializing
    if (latest->status.exit_code() == 0) continue;
    if (restartPolicy == "Never") {
      actions.terminal = true;  // init failed and may not be retried: the pod failed
      actions.killPod = true;
      return actions;
    }
    if (inBackoff(pod, *latest, in)) {
      actions.waiting[init.name] = {"CrashLoopBackOff", crashLoopMessage(pod, init.name, in)};
    } else {
      actions.toStart.push_back({i, true, latest->restartCount + 1});
    }
    return actions;
  }

  bool anyMayRun = false;
  for (std::size_t i = 0; i < containers.size(); ++i) {
    const auto& c = containers[i];
    const auto* latest = runtime.latest(c.name, sandboxId);
    if (latest == nullptr) {
      // Never started in this sandbox (or the restart count carries over from an
      // older sandbox of the same pod).
      const auto* older = runtime.latest(c.name);
      if (older != nullptr && older->exited() &&
          !shouldRestart(restartPolicy, older->status.exit_code())) {
        continue;
      }
      actions.toStart.push_back({i, false, restartCountOf(c.name)});
      anyMayRun = true;
      continue;
    }
    if (latest->running() || latest->created()) {
      anyMayRun = true;
      auto hash = in.hashes.find(c.name);
      const bool changed =
          hash != in.hashes.end() && !latest->hash.empty() && hash->second != latest->hash;
      if (changed) {
        actions.toKill.push_back({latest->id(), c.name, "Container spec hash changed"});
        actions.toStart.push_back({i, false, latest->restartCount + 1});
      } else if (in.unhealthy.contains(c.name)) {
        actions.toKill.push_back(
            {latest->id(), c.name,
             "Container " + c.name + " failed liveness probe, will be restarted"});
        if (restartPolicy != "Never")
          actions.toStart.push_back({i, false, latest->restartCount + 1});
      }
      continue;
    }
    // Exited.
    if (!shouldRestart(restartPolicy, latest->status.exit_code())) continue;
    anyMayRun = true;
    if (inBackoff(pod, *latest, in)) {
      actions.waiting[c.name] = {"CrashLoopBackOff", crashLoopMessage(pod, c.name, in)};
    } else {
      actions.toStart.push_back({i, false, latest->restartCount + 1});
    }
  }
  if (!anyMayRun && !containers.empty()) {
    actions.terminal = true;  // every container finished for good: stop the sandbox
    actions.killPod = true;
  }
  return actions;
}

}  // namespace kite::kubelet
