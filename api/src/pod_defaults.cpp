#include "kite/api/pod_defaults.h"

#include <algorithm>
#include <set>

#include <map>

namespace kite::api {

namespace corev1 = core::v1;

namespace {

// Upstream's HTTPGetAction defaults: path "/" and scheme HTTP.
void defaultHttpGet(std::optional<corev1::HTTPGetAction>& get) {
  if (!get) return;
  if (get->path.empty()) get->path = "/";
  if (get->scheme.empty()) get->scheme = "HTTP";
}

void defaultFieldRef(std::optional<corev1::ObjectFieldSelector>& ref) {
  if (ref && ref->apiVersion.empty()) ref->apiVersion = "v1";
}

void defaultDownwardApiItems(std::vector<corev1::DownwardAPIVolumeFile>& items) {
  for (auto& item : items) defaultFieldRef(item.fieldRef);
}

void defaultProbe(std::optional<corev1::Probe>& probe) {
  if (!probe) return;
  defaultHttpGet(probe->httpGet);
  if (probe->timeoutSeconds == 0) probe->timeoutSeconds = 1;
  if (probe->periodSeconds == 0) probe->periodSeconds = 10;
  if (probe->successThreshold == 0) probe->successThreshold = 1;
  if (probe->failureThreshold == 0) probe->failureThreshold = 3;
}

void defaultContainer(corev1::Container& c, bool hostNetwork) {
  if (c.terminationMessagePath.empty()) c.terminationMessagePath = "/dev/termination-log";
  if (c.terminationMessagePolicy.empty()) c.terminationMessagePolicy = "File";
  if (c.imagePullPolicy.empty()) {
    { c.imagePullPolicy = defaultPullPolicy(c.image); }
  }
  for (auto& port : c.ports) {
    if (port.protocol.empty()) port.protocol = "TCP";
    // In the node's network namespace the container's port is the node's port.
    if (hostNetwork && port.hostPort == 0) port.hostPort = port.containerPort;
  }
  for (auto& env : c.env) {
    if (env.valueFrom) defaultFieldRef(env.valueFrom->fieldRef);
  }
  if (c.lifecycle) {
    if (c.lifecycle->postStart) defaultHttpGet(c.lifecycle->postStart->httpGet);
    if (c.lifecycle->preStop) defaultHttpGet(c.lifecycle->preStop->httpGet);
  }
  for (const auto& [name, limit] : c.resources.limits) {
    if (!c.resources.requests.contains(name)) c.resources.requests[name] = limit;
  }
  defaultProbe(c.livenessProbe);
  defaultProbe(c.readinessProbe);
  defaultProbe(c.startupProbe);
}

}  // namespace

void applyPodDefaults(corev1::Pod& pod) {
  auto& spec = pod.spec;
  if (pod.metadata.namespace_.empty()) pod.metadata.namespace_ = "default";
  if (spec.restartPolicy.empty()) spec.restartPolicy = "Always";
  if (spec.dnsPolicy.empty()) spec.dnsPolicy = "ClusterFirst";
  if (!spec.terminationGracePeriodSeconds) spec.terminationGracePeriodSeconds = 30;
  if (spec.schedulerName.empty()) spec.schedulerName = "default-scheduler";
  for (auto& c : spec.initContainers) defaultContainer(c, spec.hostNetwork);
  for (auto& c : spec.containers) defaultContainer(c, spec.hostNetwork);
  for (auto& v : spec.volumes) {
    if (v.hostPath && !v.hostPath->type) v.hostPath->type = "";
    if (v.downwardAPI) defaultDownwardApiItems(v.downwardAPI->items);
    if (v.projected) {
      for (auto& source : v.projected->sources) {
        if (source.downwardAPI) defaultDownwardApiItems(source.downwardAPI->items);
        if (source.serviceAccountToken && !source.serviceAccountToken->expirationSeconds) {
          source.serviceAccountToken->expirationSeconds = 3600;  // upstream's one hour
        }
      }
    }
  }
}

// validatePod lives in pod_validation.cpp with the rest of pod validation.

std::string defaultPullPolicy(std::string_view image) {
  // A digest pins the image; otherwise the tag decides.
  if (image.find('@') != std::string_view::npos) return "IfNotPresent";
  const auto lastSlash = image.rfind('/');
  const auto colon = image.find(':', lastSlash == std::string_view::npos ? 0 : lastSlash);
  if (colon == std::string_view::npos || image.substr(colon + 1) == "latest") return "Always";
  return "IfNotPresent";
}

std::string_view qosClassOf(const corev1::PodSpec& spec) {
  auto supported = [](const std::string& r) { return r == "cpu" || r == "memory"; };
  std::map<std::string, Quantity> requests;
  std::map<std::string, Quantity> limits;
  bool guaranteed = true;
  auto account = [&](const corev1::Container& container) {
    for (const auto& [name, quantity] : container.resources.requests) {
      if (supported(name) && !quantity.isZero()) requests[name] += quantity;
    }
    std::set<std::string> limitsFound;
    for (const auto& [name, quantity] : container.resources.limits) {
      if (supported(name) && !quantity.isZero()) {
        limits[name] += quantity;
        limitsFound.insert(name);
      }
    }
    if (limitsFound.size() != 2) guaranteed = false;  // needs both cpu and memory limits
  };
  for (const auto& c : spec.initContainers) account(c);
  for (const auto& c : spec.containers) account(c);

  if (requests.empty() && limits.empty()) return "BestEffort";
  if (guaranteed) {
    for (const auto& [name, request] : requests) {
      auto limit = limits.find(name);
      if (limit == limits.end() || limit->second != request) guaranteed = false;
    }
  }
  if (guaranteed && requests.size() == limits.size()) return "Guaranteed";
  return "Burstable";
}

}  // namespace kite::api
