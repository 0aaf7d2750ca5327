// Containers and init containers as upstream validates them: the rules every container
// shares, unique names, probes and lifecycle handlers (only on regular containers and
// sidecars), container restart policies and host port conflicts.
#include <cstdint>
#include <set>
#include <string>

#include "pod_validation_formats.h"
#include "pod_validation_parts.h"

namespace kite::api::podvalidation {

namespace corev1 = core::v1;

namespace {

const char* const kNotForInit = "may not be set for init containers without restartPolicy=Always";

void checkPortNumOrName(const IntOrString& port, const std::string& path, Errors& errors) {
  if (port.isInt()) {
    for (auto& m : portNumberErrors(port.intValue())) {
      errors.push_back(FieldError::invalid(path, port.intValue(), std::move(m)));
    }
  } else {
    for (auto& m : portNameErrors(port.strValue())) {
      errors.push_back(FieldError::invalid(path, port.strValue(), std::move(m)));
    }
  }
}

void checkHttpGet(const corev1::HTTPGetAction& http, const std::string& path, Errors& errors) {
  // Upstream defaults an empty path to "/" and scheme to HTTP before this point; kite's
  // defaulting does not, so empty means "the default" here rather than "missing".
  checkPortNumOrName(http.port, child(path, "port"), errors);
  if (!http.scheme.empty() && http.scheme != "HTTP" && http.scheme != "HTTPS") {
    errors.push_back(
        FieldError::notSupported(child(path, "scheme"), http.scheme, {"HTTP", "HTTPS"}));
  }
  for (const auto& header : http.httpHeaders) {
    for (auto& m : httpHeaderNameErrors(header.name)) {
      errors.push_back(FieldError::invalid(child(path, "httpHeaders"), header.name, std::move(m)));
    }
  }
}

void checkSleep(const corev1::SleepAction& sleep, std::optional<int64_t> gracePeriod,
                const std::string& path, Errors& errors) {
  if (gracePeriod && (sleep.seconds <= 0 || sleep.seconds > *gracePeriod)) {
    errors.push_back(FieldError::invalid(
        path, sleep.seconds,
        "must be greater than 0 and less than terminationGracePeriodSeconds (" +
            std::to_string(*gracePeriod) +
            "). Enable AllowPodLifecycleSleepActionZeroValue feature gate for zero sleep."));
  }
}

void checkProbe(const std::optional<corev1::Probe>& probe, std::optional<int64_t> gracePeriod,
                const std::string& path, Errors& errors) {
  const auto& p = *probe;
  validateHandler({.exec = p.exec ? &*p.exec : nullptr,
                   .httpGet = p.httpGet ? &*p.httpGet : nullptr,
                   .tcpSocket = p.tcpSocket ? &*p.tcpSocket : nullptr,
                   .grpc = p.grpc ? &*p.grpc : nullptr},
                  gracePeriod, path, errors);
  // Zero means "the default" until defaulting ran; negative is wrong either way.
  const std::pair<const char*, int32_t> counts[] = {{"initialDelaySeconds", p.initialDelaySeconds},
                                                    {"timeoutSeconds", p.timeoutSeconds},
                                                    {"periodSeconds", p.periodSeconds},
                                                    {"successThreshold", p.successThreshold},
                                                    {"failureThreshold", p.failureThreshold}};
  for (const auto& [name, value] : counts) {
    if (value < 0) {
      errors.push_back(
          FieldError::invalid(child(path, name), value, "must be greater than or equal to 0"));
    }
  }
  if (p.terminationGracePeriodSeconds && *p.terminationGracePeriodSeconds <= 0) {
    errors.push_back(FieldError::invalid(child(path, "terminationGracePeriodSeconds"),
                                         *p.terminationGracePeriodSeconds,
                                         "must be greater than 0"));
  }
}

// Liveness and startup probes decide on one success; readiness may want several.
void checkProbes(const corev1::Container& c, std::optional<int64_t> gracePeriod,
                 const std::string& path, Errors& errors) {
  if (c.livenessProbe) {
    const std::string lp = child(path, "livenessProbe");
    checkProbe(c.livenessProbe, gracePeriod, lp, errors);
    if (c.livenessProbe->successThreshold != 1) {
      errors.push_back(FieldError::invalid(child(lp, "successThreshold"),
                                           c.livenessProbe->successThreshold, "must be 1"));
    }
  }
  if (c.readinessProbe) {
    const std::string rp = child(path, "readinessProbe");
    checkProbe(c.readinessProbe, gracePeriod, rp, errors);
    if (c.readinessProbe->terminationGracePeriodSeconds) {
      errors.push_back(FieldError::invalid(child(rp, "terminationGracePeriodSeconds"),
                                           *c.readinessProbe->terminationGracePeriodSeconds,
                                           "must not be set for readinessProbes"));
    }
  }
  if (c.startupProbe) {
    const std::string sp = child(path, "startupProbe");
    checkProbe(c.startupProbe, gracePeriod, sp, errors);
    if (c.startupProbe->successThreshold != 1) {
      errors.push_back(FieldError::invalid(child(sp, "successThreshold"),
                                           c.startupProbe->successThreshold, "must be 1"));
    }
  }
}

void checkLifecycle(const corev1::Lifecycle& lc, std::optional<int64_t> gracePeriod,
                    const std::string& path, Errors& errors) {
  auto handler = [&](const std::optional<corev1::LifecycleHandler>& h, std::string_view name) {
    if (!h) return;
    validateHandler({.exec = h->exec ? &*h->exec : nullptr,
                     .httpGet = h->httpGet ? &*h->httpGet : nullptr,
                     .tcpSocket = h->tcpSocket ? &*h->tcpSocket : nullptr,
                     .sleep = h->sleep ? &*h->sleep : nullptr},
                    gracePeriod, child(path, name), errors);
  };
  handler(lc.postStart, "postStart");
  handler(lc.preStop, "preStop");
}

void checkIds(const std::optional<int64_t>& id, const std::string& path, Errors& errors) {
  if (id && (*id < 0 || *id > INT32_MAX)) {
    errors.push_back(FieldError::invalid(path, *id, inclusiveRange(0, INT32_MAX)));
  }
}

// The checks every kind of container gets, in upstream's order.
void checkCommon(const corev1::Container& c, const VolumeMap& volumes, const std::string& path,
                 Errors& errors) {
  const std::string namePath = child(path, "name");
  if (c.name.empty()) {
    errors.push_back(FieldError::required(namePath));
  } else {
    for (auto& m : dnsLabelErrors(c.name)) {
      errors.push_back(FieldError::invalid(namePath, c.name, std::move(m)));
    }
  }
  if (c.image.empty()) errors.push_back(FieldError::required(child(path, "image")));
  const std::string tmp = child(path, "terminationMessagePolicy");
  if (c.terminationMessagePolicy.empty()) {
    errors.push_back(FieldError::required(tmp));
  } else if (c.terminationMessagePolicy != "File" &&
             c.terminationMessagePolicy != "FallbackToLogsOnError") {
    errors.push_back(FieldError::notSupported(tmp, c.terminationMessagePolicy,
                                              {"File", "FallbackToLogsOnError"}));
  }
  validatePorts(c.ports, child(path, "ports"), errors);
  validateEnv(c.env, child(path, "env"), errors);
  validateEnvFrom(c.envFrom, child(path, "envFrom"), errors);
  validateVolumeMounts(c, volumes, child(path, "volumeMounts"), errors);
  const std::string pull = child(path, "imagePullPolicy");
  if (c.imagePullPolicy.empty()) {
    errors.push_back(FieldError::required(pull));
  } else if (c.imagePullPolicy != "Always" && c.imagePullPolicy != "IfNotPresent" &&
             c.imagePullPolicy != "Never") {
    errors.push_back(
        FieldError::notSupported(pull, c.imagePullPolicy, {"Always", "IfNotPresent", "Never"}));
  }
  validateResources(c.resources, child(path, "resources"), errors);
  if (c.securityContext) {
    const std::string sc = child(path, "securityContext");
    checkIds(c.securityContext->runAsUser, child(sc, "runAsUser"), errors);
    checkIds(c.securityContext->runAsGroup, child(sc, "runAsGroup"), errors);
  }
}

// Upstream keys host ports by protocol, host IP and port: "TCP//8080".
void checkHostPorts(const std::vector<const corev1::Container*>& containers,
                    const std::vector<std::string>& paths, Errors& errors) {
  std::set<std::string> seen;
  for (std::size_t ci = 0; ci < containers.size(); ++ci) {
    const auto& ports = containers[ci]->ports;
    for (std::size_t pi = 0; pi < ports.size(); ++pi) {
      const auto& port = ports[pi];
      if (port.hostPort == 0) continue;
      const std::string id =
          port.protocol + "/" + port.hostIP + "/" + std::to_string(port.hostPort);
      if (!seen.insert(id).second) {
        errors.push_back(
            FieldError::duplicate(child(index(child(paths[ci], "ports"), pi), "hostPort"), id));
      }
    }
  }
}

}  // namespace

FieldError invalidRaw(std::string field, std::string value, std::string detail) {
  return {ErrorType::Invalid, std::move(field), std::move(value), std::move(detail)};
}

void validateHandler(const HandlerRef& handler, std::optional<int64_t> gracePeriod,
                     const std::string& path, Errors& errors) {
  int count = 0;
  // The first action set is checked; any further one is refused at its own field.
  auto take = [&](bool present, std::string_view name) {
    if (!present) return false;
    if (count > 0) {
      errors.push_back(
          FieldError::forbidden(child(path, name), "may not specify more than 1 handler type"));
      return false;
    }
    ++count;
    return true;
  };
  if (take(handler.exec != nullptr, "exec") && handler.exec->command.empty()) {
    errors.push_back(FieldError::required(child(child(path, "exec"), "command")));
  }
  if (take(handler.httpGet != nullptr, "httpGet")) {
    checkHttpGet(*handler.httpGet, child(path, "httpGet"), errors);
  }
  if (take(handler.tcpSocket != nullptr, "tcpSocket")) {
    checkPortNumOrName(handler.tcpSocket->port, child(child(path, "tcpSocket"), "port"), errors);
  }
  if (take(handler.grpc != nullptr, "grpc")) {
    checkPortNumOrName(handler.grpc->port, child(child(path, "grpc"), "port"), errors);
  }
  if (take(handler.sleep != nullptr, "sleep")) {
    checkSleep(*handler.sleep, gracePeriod, child(path, "sleep"), errors);
  }
  if (count == 0) errors.push_back(FieldError::required(path, "must specify a handler type"));
}

void validateContainers(const corev1::PodSpec& spec, const VolumeMap& volumes,
                        const std::string& path, Errors& errors) {
  if (spec.containers.empty()) {
    errors.push_back(FieldError::required(path));
    return;
  }
  const auto grace = spec.terminationGracePeriodSeconds;
  std::set<std::string> names;
  std::vector<const corev1::Container*> all;
  std::vector<std::string> paths;
  for (std::size_t i = 0; i < spec.containers.size(); ++i) {
    const auto& c = spec.containers[i];
    const std::string idx = index(path, i);
    checkCommon(c, volumes, idx, errors);
    if (!names.insert(c.name).second) {
      errors.push_back(FieldError::duplicate(child(idx, "name"), c.name));
    }
    if (c.lifecycle) checkLifecycle(*c.lifecycle, grace, child(idx, "lifecycle"), errors);
    checkProbes(c, grace, idx, errors);
    if (c.restartPolicy) {
      errors.push_back(FieldError::forbidden(child(idx, "restartPolicy"),
                                             "may not be set for non-init containers"));
    }
    all.push_back(&c);
    paths.push_back(idx);
  }
  checkHostPorts(all, paths, errors);
}

void validateInitContainers(const corev1::PodSpec& spec, const VolumeMap& volumes,
                            const std::string& path, Errors& errors) {
  const auto grace = spec.terminationGracePeriodSeconds;
  std::set<std::string> names;
  for (const auto& c : spec.containers) names.insert(c.name);
  for (std::size_t i = 0; i < spec.initContainers.size(); ++i) {
    const auto& c = spec.initContainers[i];
    const std::string idx = index(path, i);
    checkCommon(c, volumes, idx, errors);
    bool sidecar = false;
    if (c.restartPolicy) {
      if (*c.restartPolicy != "Always") {
        errors.push_back(
            FieldError::notSupported(child(idx, "restartPolicy"), *c.restartPolicy, {"Always"}));
      }
      sidecar = *c.restartPolicy == "Always";
    }
    if (names.contains(c.name)) {
      errors.push_back(FieldError::duplicate(child(idx, "name"), c.name));
    } else if (!c.name.empty()) {
      names.insert(c.name);
    }
    // Init containers run one at a time, so only one container's own ports can collide.
    checkHostPorts({&c}, {idx}, errors);
    if (sidecar) {
      if (c.lifecycle) checkLifecycle(*c.lifecycle, grace, child(idx, "lifecycle"), errors);
      checkProbes(c, grace, idx, errors);
    } else {
      if (c.lifecycle)
        errors.push_back(FieldError::forbidden(child(idx, "lifecycle"), kNotForInit));
      if (c.livenessProbe) {
        errors.push_back(FieldError::forbidden(child(idx, "livenessProbe"), kNotForInit));
      }
      if (c.readinessProbe) {
        errors.push_back(FieldError::forbidden(child(idx, "readinessProbe"), kNotForInit));
      }
      if (c.startupProbe) {
        errors.push_back(FieldError::forbidden(child(idx, "startupProbe"), kNotForInit));
      }
    }
  }
}

}  // namespace kite::api::podvalidation
