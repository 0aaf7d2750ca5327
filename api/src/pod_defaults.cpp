#include "kite/api/pod_defaults.h"

#include <algorithm>
#include <set>

#include <map>

namespace kite::api {

namespace corev1 = core::v1;

namespace {

void defaultProbe(std::optional<corev1::Probe>& probe) {
  if (!probe) return;
  if (probe->timeoutSeconds == 0) probe->timeoutSeconds = 1;
  if (probe->periodSeconds == 0) probe->periodSeconds = 10;
  if (probe->successThreshold == 0) probe->successThreshold = 1;
  if (probe->failureThreshold == 0) probe->failureThreshold = 3;
}

void defaultContainer(corev1::Container& c) {
  if (c.terminationMessagePath.empty()) c.terminationMessagePath = "/dev/termination-log";
  if (c.terminationMessagePolicy.empty()) c.terminationMessagePolicy = "File";
  if (c.imagePullPolicy.empty()) {
    { c.imagePullPolicy = defaultPullPolicy(c.image); }
  }
  for (auto& port : c.ports) {
    if (port.protocol.empty()) port.protocol = "TCP";
  }
  for (const auto& [name, limit] : c.resources.limits) {
    if (!c.resources.requests.contains(name)) c.resources.requests[name] = limit;
  }
  defaultProbe(c.livenessProbe);
  defaultProbe(c.readinessProbe);
  defaultProbe(c.startupProbe);
}

// RFC 1123 label: [a-z0-9]([-a-z0-9]*[a-z0-9])?, at most 63 characters.
bool isDnsLabel(const std::string& s) {
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (s.empty() || s.size() > 63 || !alnum(s.front()) || !alnum(s.back())) return false;
  return std::all_of(s.begin(), s.end(), [&](char c) { return alnum(c) || c == '-'; });
}

}  // namespace

void applyPodDefaults(corev1::Pod& pod) {
  auto& spec = pod.spec;
  if (pod.metadata.namespace_.empty()) pod.metadata.namespace_ = "default";
  if (spec.restartPolicy.empty()) spec.restartPolicy = "Always";
  if (spec.dnsPolicy.empty()) spec.dnsPolicy = "ClusterFirst";
  if (!spec.terminationGracePeriodSeconds) spec.terminationGracePeriodSeconds = 30;
  if (spec.schedulerName.empty()) spec.schedulerName = "default-scheduler";
  for (auto& c : spec.initContainers) defaultContainer(c);
  for (auto& c : spec.containers) defaultContainer(c);
  for (auto& v : spec.volumes) {
    if (v.hostPath && !v.hostPath->type) v.hostPath->type = "";
  }
}

void validatePod(const corev1::Pod& pod) {
  std::vector<api::FieldError> errors;
  const auto& spec = pod.spec;
  if (pod.metadata.name.empty()) {
    errors.push_back(
        api::FieldError::required("metadata.name", "name or generateName is required"));
  }
  if (spec.containers.empty()) errors.push_back(api::FieldError::required("spec.containers"));
  std::set<std::string> volumeNames;
  for (std::size_t i = 0; i < spec.volumes.size(); ++i) {
    const auto& v = spec.volumes[i];
    const std::string field = "spec.volumes[" + std::to_string(i) + "]";
    if (!volumeNames.insert(v.name).second) {
      errors.push_back(api::FieldError::duplicate(field + ".name", v.name));
    }
    if (v.hostPath && !v.hostPath->path.starts_with("/")) {
      errors.push_back(api::FieldError::invalid(field + ".hostPath.path", v.hostPath->path,
                                                "must be an absolute path"));
    }
  }
  const std::set<std::string> policies = {"Always", "OnFailure", "Never"};
  if (!spec.restartPolicy.empty() && !policies.contains(spec.restartPolicy)) {
    errors.push_back(api::FieldError::notSupported("spec.restartPolicy", spec.restartPolicy,
                                                   {"Always", "OnFailure", "Never"}));
  }
  std::set<std::string> containerNames;
  auto checkContainers = [&](const std::vector<corev1::Container>& list, const std::string& path) {
    for (std::size_t i = 0; i < list.size(); ++i) {
      const auto& c = list[i];
      const std::string field = path + "[" + std::to_string(i) + "]";
      if (c.name.empty()) {
        errors.push_back(api::FieldError::required(field + ".name"));
      } else if (!isDnsLabel(c.name)) {
        errors.push_back(api::FieldError::invalid(
            field + ".name", c.name,
            "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or "
            "'-', and must start and end with an alphanumeric character"));
      } else if (!containerNames.insert(c.name).second) {
        errors.push_back(api::FieldError::duplicate(field + ".name", c.name));
      }
      if (c.image.empty()) errors.push_back(api::FieldError::required(field + ".image"));
      if (!c.imagePullPolicy.empty() && c.imagePullPolicy != "Always" &&
          c.imagePullPolicy != "IfNotPresent" && c.imagePullPolicy != "Never") {
        errors.push_back(api::FieldError::notSupported(
            field + ".imagePullPolicy", c.imagePullPolicy, {"Always", "IfNotPresent", "Never"}));
      }
      for (std::size_t m = 0; m < c.volumeMounts.size(); ++m) {
        const auto& vm = c.volumeMounts[m];
        const std::string mountField = field + ".volumeMounts[" + std::to_string(m) + "]";
        if (!volumeNames.contains(vm.name)) {
          errors.push_back(api::FieldError::notFound(mountField + ".name", vm.name));
        }
        if (vm.mountPath.empty())
          errors.push_back(api::FieldError::required(mountField + ".mountPath"));
      }
    }
  };
  checkContainers(spec.initContainers, "spec.initContainers");
  checkContainers(spec.containers, "spec.containers");
  if (!errors.empty()) throw api::FieldErrors(std::move(errors));
}

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
