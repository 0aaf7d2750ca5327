// Pod spec, pod template and Pod validation: the spec-wide rules here, volumes and
// containers in the other pod_validation_*.cpp files.
#include "kite/api/pod_validation.h"

#include <cstdint>
#include <string>

#include "pod_validation_formats.h"
#include "pod_validation_parts.h"

namespace kite::api {

namespace corev1 = core::v1;
using podvalidation::child;
using podvalidation::Errors;
using podvalidation::index;

namespace {

void addInvalid(Errors& errors, const std::string& path, std::string_view value,
                podvalidation::Messages messages) {
  for (auto& m : messages) errors.push_back(FieldError::invalid(path, value, std::move(m)));
}

void checkIds(const std::optional<int64_t>& id, const std::string& path, Errors& errors) {
  if (id && (*id < 0 || *id > INT32_MAX)) {
    errors.push_back(FieldError::invalid(path, *id, podvalidation::inclusiveRange(0, INT32_MAX)));
  }
}

void checkPodSecurityContext(const corev1::PodSecurityContext& sc, const std::string& path,
                             Errors& errors) {
  checkIds(sc.fsGroup, child(path, "fsGroup"), errors);
  checkIds(sc.runAsUser, child(path, "runAsUser"), errors);
  checkIds(sc.runAsGroup, child(path, "runAsGroup"), errors);
  for (std::size_t i = 0; i < sc.supplementalGroups.size(); ++i) {
    checkIds(sc.supplementalGroups[i], index(child(path, "supplementalGroups"), i), errors);
  }
}

// A pod on the host network listens on the node: a host port can only be its container port.
// Upstream defaults hostPort to containerPort for such Pods; kite does not, so 0 passes.
void checkHostNetworkPorts(const corev1::PodSpec& spec, const std::string& prefix, Errors& errors) {
  if (!spec.hostNetwork) return;
  for (std::size_t i = 0; i < spec.containers.size(); ++i) {
    const auto& ports = spec.containers[i].ports;
    for (std::size_t p = 0; p < ports.size(); ++p) {
      if (ports[p].hostPort != 0 && ports[p].hostPort != ports[p].containerPort) {
        errors.push_back(FieldError::invalid(
            child(index(child(index(child(prefix, "containers"), i), "ports"), p), "hostPort"),
            ports[p].hostPort, "must match `containerPort` when `hostNetwork` is true"));
      }
    }
  }
}

void checkDnsConfig(const corev1::PodSpec& spec, const std::string& prefix, Errors& errors) {
  const std::string path = child(prefix, "dnsConfig");
  if (spec.dnsPolicy == "None") {
    if (!spec.dnsConfig) {
      errors.push_back(
          FieldError::required(path, "must provide `dnsConfig` when `dnsPolicy` is None"));
      return;
    }
    if (spec.dnsConfig->nameservers.empty()) {
      errors.push_back(FieldError::required(
          child(path, "nameservers"),
          "must provide at least one DNS nameserver when `dnsPolicy` is None"));
      return;
    }
  }
  if (!spec.dnsConfig) return;
  const auto& dc = *spec.dnsConfig;
  if (dc.nameservers.size() > 3) {
    std::string list = "[]string{";
    for (std::size_t i = 0; i < dc.nameservers.size(); ++i) {
      if (i > 0) list += ", ";
      list += quoteValue(dc.nameservers[i]);
    }
    errors.push_back(podvalidation::invalidRaw(child(path, "nameservers"), list + "}",
                                               "must not have more than 3 nameservers"));
  }
  for (std::size_t i = 0; i < dc.nameservers.size(); ++i) {
    if (!podvalidation::isIpAddress(dc.nameservers[i])) {
      errors.push_back(FieldError::invalid(index(child(path, "nameservers"), i), dc.nameservers[i],
                                           "must be a valid IP address, (e.g. 10.9.8.7 or "
                                           "2001:db8::ffff)"));
    }
  }
  for (std::size_t i = 0; i < dc.searches.size(); ++i) {
    std::string search = dc.searches[i];
    if (search.ends_with(".")) search.pop_back();
    addInvalid(errors, index(child(path, "searches"), i), search,
               podvalidation::dnsSubdomainErrors(search));
  }
  for (std::size_t i = 0; i < dc.options.size(); ++i) {
    if (dc.options[i].name.empty()) {
      errors.push_back(FieldError::required(index(child(path, "options"), i), "must not be empty"));
    }
  }
}

}  // namespace

std::vector<FieldError> validatePodSpec(const corev1::PodSpec& spec, std::string_view fieldPrefix) {
  const std::string prefix(fieldPrefix);
  Errors errors;
  // Required, and any value is accepted as upstream accepts it: a negative one is treated as 1
  // when the pod is deleted, and an update may then set it to 1.
  if (!spec.terminationGracePeriodSeconds) {
    errors.push_back(FieldError::required(child(prefix, "terminationGracePeriodSeconds")));
  }
  const auto volumes =
      podvalidation::validateVolumes(spec.volumes, child(prefix, "volumes"), errors);
  podvalidation::validateContainers(spec, volumes, child(prefix, "containers"), errors);
  podvalidation::validateInitContainers(spec, volumes, child(prefix, "initContainers"), errors);
  checkHostNetworkPorts(spec, prefix, errors);

  const std::string rp = child(prefix, "restartPolicy");
  if (spec.restartPolicy.empty()) {
    errors.push_back(FieldError::required(rp));
  } else if (spec.restartPolicy != "Always" && spec.restartPolicy != "OnFailure" &&
             spec.restartPolicy != "Never") {
    errors.push_back(
        FieldError::notSupported(rp, spec.restartPolicy, {"Always", "OnFailure", "Never"}));
  }
  const std::string dp = child(prefix, "dnsPolicy");
  if (spec.dnsPolicy.empty()) {
    errors.push_back(FieldError::required(dp));
  } else if (spec.dnsPolicy != "ClusterFirstWithHostNet" && spec.dnsPolicy != "ClusterFirst" &&
             spec.dnsPolicy != "Default" && spec.dnsPolicy != "None") {
    errors.push_back(FieldError::notSupported(
        dp, spec.dnsPolicy, {"ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"}));
  }
  if (spec.securityContext) {
    checkPodSecurityContext(*spec.securityContext, child(prefix, "securityContext"), errors);
  }
  checkDnsConfig(spec, prefix, errors);
  if (!spec.serviceAccountName.empty()) {
    addInvalid(errors, child(prefix, "serviceAccountName"), spec.serviceAccountName,
               podvalidation::dnsSubdomainErrors(spec.serviceAccountName));
  }
  if (!spec.nodeName.empty()) {
    addInvalid(errors, child(prefix, "nodeName"), spec.nodeName,
               podvalidation::dnsSubdomainErrors(spec.nodeName));
  }
  if (spec.activeDeadlineSeconds &&
      (*spec.activeDeadlineSeconds < 1 || *spec.activeDeadlineSeconds > INT32_MAX)) {
    errors.push_back(FieldError::invalid(child(prefix, "activeDeadlineSeconds"),
                                         *spec.activeDeadlineSeconds,
                                         podvalidation::inclusiveRange(1, INT32_MAX)));
  }
  if (!spec.hostname.empty()) {
    addInvalid(errors, child(prefix, "hostname"), spec.hostname,
               podvalidation::dnsLabelErrors(spec.hostname));
  }
  if (!spec.subdomain.empty()) {
    addInvalid(errors, child(prefix, "subdomain"), spec.subdomain,
               podvalidation::dnsLabelErrors(spec.subdomain));
  }
  return errors;
}

std::vector<FieldError> validatePodTemplateSpec(const corev1::PodTemplateSpec& tmpl,
                                                std::string_view fieldPrefix) {
  const std::string prefix(fieldPrefix);
  auto errors = validatePodSpec(tmpl.spec, child(prefix, "spec"));
  if (!tmpl.spec.ephemeralContainers.empty()) {
    errors.push_back(FieldError::forbidden(child(child(prefix, "spec"), "ephemeralContainers"),
                                           "ephemeral containers not allowed in pod template"));
  }
  return errors;
}

std::vector<FieldError> validateReplicatedPodTemplate(const corev1::PodTemplateSpec& tmpl,
                                                      std::string_view fieldPrefix,
                                                      ReplicatedOwner owner) {
  const std::string spec = child(fieldPrefix, "spec");
  auto errors = validatePodTemplateSpec(tmpl, fieldPrefix);
  if (tmpl.spec.restartPolicy != "Always") {
    errors.push_back(FieldError::notSupported(child(spec, "restartPolicy"), tmpl.spec.restartPolicy,
                                              {"Always"}));
  }
  if (tmpl.spec.activeDeadlineSeconds) {
    const char* kind = owner == ReplicatedOwner::DaemonSet     ? "DaemonSet"
                       : owner == ReplicatedOwner::StatefulSet ? "StatefulSet"
                                                               : "ReplicaSet";
    errors.push_back(FieldError::forbidden(
        child(spec, "activeDeadlineSeconds"),
        std::string("activeDeadlineSeconds in ") + kind + " is not Supported"));
  }
  return errors;
}

void validatePod(const corev1::Pod& pod) {
  Errors errors;
  if (pod.metadata.name.empty()) {
    errors.push_back(FieldError::required("metadata.name", "name or generateName is required"));
  }
  appendErrors(errors, validatePodSpec(pod.spec, "spec"));
  if (!errors.empty()) throw FieldErrors(std::move(errors));
}

}  // namespace kite::api
