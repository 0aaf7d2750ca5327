// Pods: defaults and checks shared with the kubelet's static pods, the field selectors the
// scheduler and kubelets use (spec.nodeName, status.phase), and kubectl's columns.
#include <string>

#include "../registry.h"
#include "kite/api/core/v1/types.h"
#include "kite/api/meta.h"
#include "kite/api/pod_defaults.h"
#include "kite/api/pod_warnings.h"

namespace kite::controlplane::apiserver {

namespace {

namespace corev1 = api::core::v1;

// The STATUS column, as kubectl has always computed it from the pod's status.
std::string podStatusReason(const corev1::Pod& pod) {
  std::string reason = pod.status.phase;
  if (!pod.status.reason.empty()) reason = pod.status.reason;

  bool initializing = false;
  const auto& inits = pod.status.initContainerStatuses;
  for (std::size_t i = 0; i < inits.size(); ++i) {
    const auto& s = inits[i];
    if (s.state.terminated && s.state.terminated->exitCode == 0) continue;
    if (s.state.running && s.started.value_or(false)) continue;  // a running sidecar
    if (s.state.terminated) {
      const auto& t = *s.state.terminated;
      if (!t.reason.empty()) {
        reason = "Init:" + t.reason;
      } else if (t.signal != 0) {
        reason = "Init:Signal:" + std::to_string(t.signal);
      } else {
        reason = "Init:ExitCode:" + std::to_string(t.exitCode);
      }
    } else if (s.state.waiting && !s.state.waiting->reason.empty() &&
               s.state.waiting->reason != "PodInitializing") {
      reason = "Init:" + s.state.waiting->reason;
    } else {
      reason = "Init:" + std::to_string(i) + "/" + std::to_string(pod.spec.initContainers.size());
    }
    initializing = true;
    break;
  }
  if (!initializing) {
    bool hasRunning = false;
    const auto& cs = pod.status.containerStatuses;
    for (auto it = cs.rbegin(); it != cs.rend(); ++it) {
      if (it->state.waiting && !it->state.waiting->reason.empty()) {
        reason = it->state.waiting->reason;
      } else if (it->state.terminated) {
        const auto& t = *it->state.terminated;
        if (!t.reason.empty()) {
          reason = t.reason;
        } else if (t.signal != 0) {
          reason = "Signal:" + std::to_string(t.signal);
        } else {
          reason = "ExitCode:" + std::to_string(t.exitCode);
        }
      } else if (it->state.running && it->ready) {
        hasRunning = true;
      }
    }
    if (reason == "Completed" && hasRunning) {
      const auto* ready = api::findCondition(pod.status.conditions, "Ready");
      reason = (ready != nullptr && ready->status == "True") ? "Running" : "NotReady";
    }
  }
  if (pod.metadata.deletionTimestamp) {
    reason = pod.status.reason == "NodeLost" ? "Unknown" : "Terminating";
  }
  return reason;
}

std::vector<TableCell> podRow(const corev1::Pod& pod, TimePoint now) {
  std::int64_t restarts = 0;
  int ready = 0;
  std::optional<TimePoint> lastRestart;
  for (const auto& s : pod.status.containerStatuses) {
    restarts += s.restartCount;
    if (s.ready && s.state.running) ++ready;
    if (s.lastState.terminated && !s.lastState.terminated->finishedAt.isZero()) {
      const auto t = s.lastState.terminated->finishedAt.timePoint();
      if (!lastRestart || t > *lastRestart) lastRestart = t;
    }
  }
  std::string restartText = std::to_string(restarts);
  if (restarts > 0 && lastRestart) restartText += " (" + humanAge(lastRestart, now) + " ago)";
  std::string readinessGates = "<none>";
  if (!pod.spec.readinessGates.empty()) {
    int trueGates = 0;
    for (const auto& g : pod.spec.readinessGates) {
      const auto* c = api::findCondition(pod.status.conditions, g.conditionType);
      if (c != nullptr && c->status == "True") ++trueGates;
    }
    readinessGates =
        std::to_string(trueGates) + "/" + std::to_string(pod.spec.readinessGates.size());
  }
  auto orNone = [](const std::string& s) { return s.empty() ? std::string("<none>") : s; };
  return {std::to_string(ready) + "/" + std::to_string(pod.spec.containers.size()),
          podStatusReason(pod),
          restartText,
          humanAge(creationTime(pod.metadata), now),
          orNone(pod.status.podIP),
          orNone(pod.spec.nodeName),
          orNone(pod.status.nominatedNodeName),
          readinessGates};
}

}  // namespace

void addPodKind(Registry& registry) {
  KindHooks<corev1::Pod> h;
  h.defaults = [](corev1::Pod& pod) { api::applyPodDefaults(pod); };
  h.prepareForCreate = [](corev1::Pod& pod) {
    pod.status = {};
    pod.status.phase = "Pending";
    pod.status.qosClass = std::string(api::qosClassOf(pod.spec));
  };
  h.validate = [](std::vector<api::FieldError>& errors, const corev1::Pod& pod) {
    try {
      api::validatePod(pod);
    } catch (const api::FieldErrors& e) {
      errors.insert(errors.end(), e.errors().begin(), e.errors().end());
    }
  };
  h.validateUpdate = [](std::vector<api::FieldError>& errors, const corev1::Pod& pod,
                        const corev1::Pod& old) {
    // Upstream allows only image, activeDeadlineSeconds, tolerations (additions) and a
    // negative terminationGracePeriodSeconds set to 1 to change; compare the rest.
    corev1::PodSpec a = pod.spec;
    // The stored pod defaulted as upstream defaults on read: a pod stored before a default
    // was added must not look changed for it.
    corev1::Pod oldDefaulted = old;
    api::applyPodDefaults(oldDefaulted);
    corev1::PodSpec b = std::move(oldDefaulted.spec);
    for (std::size_t i = 0; i < a.containers.size() && i < b.containers.size(); ++i) {
      a.containers[i].image = b.containers[i].image;
    }
    for (std::size_t i = 0; i < a.initContainers.size() && i < b.initContainers.size(); ++i) {
      a.initContainers[i].image = b.initContainers[i].image;
    }
    a.activeDeadlineSeconds = b.activeDeadlineSeconds;
    a.tolerations = b.tolerations;
    // The one change allowed: a negative period (accepted for compatibility) set to the 1
    // second the server uses for it anyway.
    if (b.terminationGracePeriodSeconds && *b.terminationGracePeriodSeconds < 0 &&
        a.terminationGracePeriodSeconds == 1) {
      a.terminationGracePeriodSeconds = b.terminationGracePeriodSeconds;
    }
    if (b.nodeName.empty()) a.nodeName = b.nodeName;  // set through pods/binding
    if (!(a == b)) {
      errors.push_back(api::FieldError::forbidden(
          "spec",
          "pod updates may not change fields other than `spec.containers[*].image`,"
          "`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,"
          "`spec.tolerations` (only additions to existing tolerations),"
          "`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was "
          "previously negative)"));
    }
  };
  // Create only: upstream skips warnings on pod updates (a frequent path nobody reads them on).
  h.warnings = [](const corev1::Pod& pod, const corev1::Pod* old) {
    return old == nullptr ? api::podSpecWarnings(pod.spec, "spec") : std::vector<std::string>{};
  };
  h.fields = {
      {"spec.nodeName", [](const corev1::Pod& p) { return p.spec.nodeName; }},
      {"spec.restartPolicy", [](const corev1::Pod& p) { return p.spec.restartPolicy; }},
      {"spec.schedulerName", [](const corev1::Pod& p) { return p.spec.schedulerName; }},
      {"spec.serviceAccountName", [](const corev1::Pod& p) { return p.spec.serviceAccountName; }},
      {"spec.hostNetwork",
       [](const corev1::Pod& p) { return std::string(p.spec.hostNetwork ? "true" : "false"); }},
      {"status.phase", [](const corev1::Pod& p) { return p.status.phase; }},
      {"status.podIP", [](const corev1::Pod& p) { return p.status.podIP; }},
      {"status.nominatedNodeName", [](const corev1::Pod& p) { return p.status.nominatedNodeName; }},
  };
  h.columns = {
      {"Ready", "string", "", "The aggregate readiness state of this pod for accepting traffic.",
       0},
      {"Status", "string", "", "The aggregate status of the containers in this pod.", 0},
      {"Restarts", "string", "",
       "The number of times the containers in this pod have been restarted and when the last "
       "container in this pod has restarted.",
       0},
      ageColumn(),
      {"IP", "string", "", "IP address allocated to the pod. Routable at least within the cluster.",
       1},
      {"Node", "string", "", "Name of the node this pod is running on.", 1},
      {"Nominated Node", "string", "",
       "nominatedNodeName is set only when this pod preempts other pods on the node.", 1},
      {"Readiness Gates", "string", "", "If specified, all readiness gates will be evaluated.", 1},
  };
  h.row = podRow;
  registry.add(
      std::make_unique<TypedResource<corev1::Pod>>(builtinInfo("", "v1", "pods"), std::move(h)));
}

}  // namespace kite::controlplane::apiserver
