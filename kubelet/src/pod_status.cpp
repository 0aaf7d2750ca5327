#include "kite/kubelet/pod_status.h"

#include <algorithm>
#include <chrono>

namespace kite::kubelet {

namespace corev1 = api::core::v1;

namespace {

api::Time fromNanos(int64_t nanos) {
  if (nanos <= 0) return {};
  return api::Time(api::Time::TimePoint(
      std::chrono::duration_cast<api::Time::Clock::duration>(std::chrono::nanoseconds(nanos))));
}

corev1::ContainerState terminatedState(const RuntimeContainer& c, const std::string& runtimeName) {
  corev1::ContainerState state;
  corev1::ContainerStateTerminated t;
  t.exitCode = c.status.exit_code();
  t.reason =
      c.status.reason().empty() ? (t.exitCode == 0 ? "Completed" : "Error") : c.status.reason();
  t.message = c.status.message();
  t.startedAt = fromNanos(c.status.started_at());
  t.finishedAt = fromNanos(c.status.finished_at());
  t.containerID = runtimeName + "://" + c.id();
  state.terminated = t;
  return state;
}

corev1::ContainerState waitingState(const std::string& reason, const std::string& message = "") {
  corev1::ContainerState state;
  corev1::ContainerStateWaiting w;
  w.reason = reason;
  w.message = message;
  state.waiting = w;
  return state;
}

corev1::ContainerStatus containerStatus(const corev1::Container& spec, const RuntimePod& runtime,
                                        const StatusInputs& in, const std::string& defaultWaiting,
                                        bool probesDecideReady) {
  corev1::ContainerStatus s;
  s.name = spec.name;
  s.image = spec.image;
  const RuntimeContainer* latest = runtime.latest(spec.name);
  auto waiting = in.waiting.find(spec.name);
  if (latest == nullptr) {
    s.state = waiting != in.waiting.end()
                  ? waitingState(waiting->second.reason, waiting->second.message)
                  : waitingState(defaultWaiting);
    s.started = false;
    return s;
  }
  s.restartCount = latest->restartCount;
  s.imageID = latest->status.image_ref();
  s.containerID = in.runtimeName + "://" + latest->id();
  if (latest->running()) {
    corev1::ContainerStateRunning r;
    r.startedAt = fromNanos(latest->status.started_at());
    s.state.running = r;
    auto started = in.started.find(spec.name);
    s.started = started == in.started.end() ? true : started->second;
    auto ready = in.ready.find(spec.name);
    s.ready = *s.started && (!probesDecideReady || ready == in.ready.end() || ready->second);
  } else if (latest->exited()) {
    if (waiting != in.waiting.end()) {
      // Waiting to be restarted: the run that ended shows as lastState.
      s.state = waitingState(waiting->second.reason, waiting->second.message);
      s.lastState = terminatedState(*latest, in.runtimeName);
    } else {
      s.state = terminatedState(*latest, in.runtimeName);
      if (const auto* previous = runtime.previous(spec.name)) {
        s.lastState = terminatedState(*previous, in.runtimeName);
      }
    }
    s.started = false;
  } else {
    s.state =
        waitingState(waiting != in.waiting.end() ? waiting->second.reason : "ContainerCreating",
                     waiting != in.waiting.end() ? waiting->second.message : "");
    s.started = false;
  }
  if (!s.lastState.terminated && latest->exited() == false) {
    if (const auto* previous = runtime.previous(spec.name); previous && previous->exited()) {
      s.lastState = terminatedState(*previous, in.runtimeName);
    }
  }
  return s;
}

corev1::PodCondition condition(const std::string& type, bool status, const std::string& reason,
                               const std::string& message, const StatusInputs& in) {
  corev1::PodCondition c;
  c.type = type;
  c.status = status ? "True" : "False";
  c.reason = reason;
  c.message = message;
  c.lastTransitionTime = api::Time::now();
  if (in.previous != nullptr) {
    for (const auto& old : in.previous->conditions) {
      if (old.type == type && old.status == c.status) c.lastTransitionTime = old.lastTransitionTime;
    }
  }
  return c;
}

std::string joinNames(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : " ") + n;
  return "[" + out + "]";
}

bool isSidecar(const corev1::Container& c) { return c.restartPolicy.value_or("") == "Always"; }

}  // namespace

std::string podPhase(const corev1::PodSpec& spec, const corev1::PodStatus& status) {
  const std::string restartPolicy = spec.restartPolicy.empty() ? "Always" : spec.restartPolicy;
  int pendingInit = 0;
  int failedInit = 0;
  for (std::size_t i = 0; i < spec.initContainers.size() && i < status.initContainerStatuses.size();
       ++i) {
    const auto& s = status.initContainerStatuses[i];
    if (isSidecar(spec.initContainers[i])) {
      if (!s.state.running) ++pendingInit;
      continue;
    }
    if (s.state.terminated) {
      if (s.state.terminated->exitCode != 0) ++failedInit;
    } else if (s.state.waiting && s.lastState.terminated && s.lastState.terminated->exitCode != 0) {
      ++failedInit;
    } else {
      ++pendingInit;
    }
  }
  if (failedInit > 0 && restartPolicy == "Never") return "Failed";

  int running = 0, waiting = 0, stopped = 0, succeeded = 0;
  for (const auto& s : status.containerStatuses) {
    if (s.state.running) {
      ++running;
    } else if (s.state.terminated) {
      ++stopped;
      if (s.state.terminated->exitCode == 0) ++succeeded;
    } else if (s.state.waiting && s.lastState.terminated) {
      ++stopped;
    } else {
      ++waiting;
    }
  }
  if (pendingInit > 0 || failedInit > 0) return "Pending";
  if (waiting > 0) return "Pending";
  if (running > 0) return "Running";
  if (stopped > 0) {
    if (restartPolicy == "Always") return "Running";
    if (stopped == succeeded) return "Succeeded";
    if (restartPolicy == "Never") return "Failed";
    return "Running";
  }
  return "Pending";
}

corev1::PodStatus podStatus(const corev1::Pod& pod, const RuntimePod& runtime,
                            const StatusInputs& in) {
  corev1::PodStatus status;
  const auto& spec = pod.spec;

  bool initDone = true;
  std::vector<std::string> incompleteInit;
  for (const auto& init : spec.initContainers) {
    auto s = containerStatus(init, runtime, in, "PodInitializing", isSidecar(init));
    const bool done = isSidecar(init) ? s.state.running.has_value()
                                      : (s.state.terminated && s.state.terminated->exitCode == 0);
    if (!done) {
      initDone = false;
      incompleteInit.push_back(init.name);
    }
    status.initContainerStatuses.push_back(std::move(s));
  }
  std::vector<std::string> unready;
  for (const auto& c : spec.containers) {
    auto s =
        containerStatus(c, runtime, in, initDone ? "ContainerCreating" : "PodInitializing", true);
    if (!s.ready) unready.push_back(c.name);
    status.containerStatuses.push_back(std::move(s));
  }

  const auto* sandbox = runtime.newestSandbox();
  const bool sandboxReady = runtime.sandboxReady() && !sandbox->network().ip().empty();
  if (sandboxReady) {
    status.podIP = sandbox->network().ip();
    corev1::PodIP first;
    first.ip = status.podIP;
    status.podIPs.push_back(first);
    for (const auto& extra : sandbox->network().additional_ips()) {
      corev1::PodIP ip;
      ip.ip = extra.ip();
      status.podIPs.push_back(ip);
    }
  }
  status.hostIP = in.hostIP;
  if (!in.hostIP.empty()) {
    corev1::HostIP host;
    host.ip = in.hostIP;
    status.hostIPs.push_back(host);
  }
  status.startTime = in.startTime;
  status.phase = podPhase(spec, status);
  if (!in.podError.empty()) status.message = in.podError;
  if (!in.evictedMessage.empty()) {
    status.phase = "Failed";
    status.reason = "Evicted";
    status.message = in.evictedMessage;
  }

  const bool terminal = status.phase == "Succeeded" || status.phase == "Failed";
  status.conditions.push_back(condition("PodReadyToStartContainers", sandboxReady, "", "", in));
  status.conditions.push_back(
      initDone ? condition("Initialized", true,
                           terminal && status.phase == "Succeeded" ? "PodCompleted" : "", "", in)
               : condition("Initialized", false, "ContainersNotInitialized",
                           "containers with incomplete status: " + joinNames(incompleteInit), in));
  const bool ready = unready.empty() && !terminal;
  const std::string unreadyMessage = "containers with unready status: " + joinNames(unready);
  status.conditions.push_back(ready ? condition("ContainersReady", true, "", "", in)
                                    : condition("ContainersReady", false,
                                                terminal ? "PodCompleted" : "ContainersNotReady",
                                                terminal ? "" : unreadyMessage, in));
  status.conditions.push_back(ready ? condition("Ready", true, "", "", in)
                                    : condition("Ready", false,
                                                terminal ? "PodCompleted" : "ContainersNotReady",
                                                terminal ? "" : unreadyMessage, in));
  status.conditions.push_back(condition("PodScheduled", true, "", "", in));
  if (!in.evictedMessage.empty()) {
    // Upstream marks a pod the kubelet killed on its own as disrupted.
    status.conditions.push_back(
        condition("DisruptionTarget", true, "TerminationByKubelet", in.evictedMessage, in));
  }
  return status;
}

}  // namespace kite::kubelet
