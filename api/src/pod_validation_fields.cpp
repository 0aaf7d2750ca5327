// A container's ports, volume mounts and resources as upstream validates them.
#include <set>
#include <string>

#include "pod_validation_formats.h"
#include "pod_validation_parts.h"

namespace kite::api::podvalidation {

namespace corev1 = core::v1;

namespace {

bool isHugePages(std::string_view name) { return name.starts_with("hugepages-"); }

// Names without a domain are Kubernetes' own; names under kubernetes.io are too.
bool isNative(std::string_view name) {
  const auto slash = name.find('/');
  if (slash == std::string_view::npos) return true;
  const auto domain = name.substr(0, slash);
  return domain == "kubernetes.io" || domain.ends_with(".kubernetes.io");
}

// Upstream lets the node overcommit native resources except huge pages; extended resources
// (vendor.example/gpu) are handed out whole, so requests must equal limits.
bool overcommitAllowed(std::string_view name) { return isNative(name) && !isHugePages(name); }

void checkResourceName(const std::string& name, const std::string& path, Errors& errors) {
  if (name.find('/') == std::string::npos) {
    if (name != "cpu" && name != "memory" && name != "ephemeral-storage" && !isHugePages(name)) {
      errors.push_back(invalidRaw(path, name, "must be a standard resource for containers"));
    }
  }
}

void checkQuantity(const std::string& name, const Quantity& q, const std::string& path,
                   Errors& errors) {
  if (q.sign() < 0) {
    errors.push_back(FieldError::invalid(path, q.toString(), "must be greater than or equal to 0"));
  }
  // Extended resources are counted in whole units.
  if (!isNative(name) && q.milliValue() % 1000 != 0) {
    errors.push_back(invalidRaw(path, q.toString(), "must be an integer"));
  }
}

}  // namespace

void validatePorts(const std::vector<corev1::ContainerPort>& ports, const std::string& path,
                   Errors& errors) {
  std::set<std::string> names;
  for (std::size_t i = 0; i < ports.size(); ++i) {
    const auto& port = ports[i];
    const std::string idx = index(path, i);
    if (!port.name.empty()) {
      auto problems = portNameErrors(port.name);
      for (auto& m : problems) {
        errors.push_back(FieldError::invalid(child(idx, "name"), port.name, std::move(m)));
      }
      if (problems.empty() && !names.insert(port.name).second) {
        errors.push_back(FieldError::duplicate(child(idx, "name"), port.name));
      }
    }
    if (port.containerPort == 0) {
      errors.push_back(FieldError::required(child(idx, "containerPort")));
    } else {
      for (auto& m : portNumberErrors(port.containerPort)) {
        errors.push_back(
            FieldError::invalid(child(idx, "containerPort"), port.containerPort, std::move(m)));
      }
    }
    if (port.hostPort != 0) {
      for (auto& m : portNumberErrors(port.hostPort)) {
        errors.push_back(FieldError::invalid(child(idx, "hostPort"), port.hostPort, std::move(m)));
      }
    }
    if (port.protocol.empty()) {
      errors.push_back(FieldError::required(child(idx, "protocol")));
    } else if (port.protocol != "TCP" && port.protocol != "UDP" && port.protocol != "SCTP") {
      errors.push_back(
          FieldError::notSupported(child(idx, "protocol"), port.protocol, {"SCTP", "TCP", "UDP"}));
    }
  }
}

void validateVolumeMounts(const corev1::Container& container, const VolumeMap& volumes,
                          const std::string& path, Errors& errors) {
  std::set<std::string> mountPoints;
  const bool privileged =
      container.securityContext && container.securityContext->privileged.value_or(false);
  for (std::size_t i = 0; i < container.volumeMounts.size(); ++i) {
    const auto& m = container.volumeMounts[i];
    const std::string idx = index(path, i);
    if (m.name.empty()) errors.push_back(FieldError::required(child(idx, "name")));
    if (!volumes.contains(m.name))
      errors.push_back(FieldError::notFound(child(idx, "name"), m.name));
    if (m.mountPath.empty()) errors.push_back(FieldError::required(child(idx, "mountPath")));
    if (!mountPoints.insert(m.mountPath).second) {
      errors.push_back(FieldError::invalid(child(idx, "mountPath"), m.mountPath, "must be unique"));
    }
    // Upstream names subPath, subPathExpr and mountPropagation at the list, without the
    // index, for the path rules below; kubectl users see exactly that.
    auto descending = [&](const std::string& value, std::string_view field) {
      if (value.starts_with("/")) {
        errors.push_back(FieldError::invalid(child(path, field), value, "must be a relative path"));
      }
      if (hasBacksteps(value)) {
        errors.push_back(FieldError::invalid(child(path, field), value, "must not contain '..'"));
      }
    };
    if (!m.subPath.empty()) descending(m.subPath, "subPath");
    if (!m.subPathExpr.empty()) {
      if (!m.subPath.empty()) {
        errors.push_back(FieldError::invalid(child(idx, "subPathExpr"), m.subPathExpr,
                                             "subPathExpr and subPath are mutually exclusive"));
      }
      descending(m.subPathExpr, "subPathExpr");
    }
    if (m.mountPropagation) {
      const std::string mp = child(path, "mountPropagation");
      const auto& mode = *m.mountPropagation;
      if (mode != "Bidirectional" && mode != "HostToContainer" && mode != "None") {
        errors.push_back(
            FieldError::notSupported(mp, mode, {"Bidirectional", "HostToContainer", "None"}));
      }
      if (mode == "Bidirectional" && !privileged) {
        errors.push_back(FieldError::forbidden(
            mp, "Bidirectional mount propagation is available only to privileged containers"));
      }
    }
    if (m.recursiveReadOnly) {
      const std::string rp = child(path, "recursiveReadOnly");
      const auto& rro = *m.recursiveReadOnly;
      if (rro == "Enabled" || rro == "IfPossible") {
        if (!m.readOnly) {
          errors.push_back(
              FieldError::forbidden(rp, "may only be specified when readOnly is true"));
        }
        if (m.mountPropagation && *m.mountPropagation != "None") {
          errors.push_back(FieldError::forbidden(
              rp, "may only be specified when mountPropagation is None or not specified"));
        }
      } else if (rro != "Disabled") {
        errors.push_back(FieldError::notSupported(rp, rro, {"Disabled", "Enabled", "IfPossible"}));
      }
    }
  }
}

void validateResources(const corev1::ResourceRequirements& resources, const std::string& path,
                       Errors& errors) {
  const std::string limPath = child(path, "limits");
  const std::string reqPath = child(path, "requests");
  for (const auto& [name, q] : resources.limits) {
    checkResourceName(name, key(limPath, name), errors);
    checkQuantity(name, q, key(limPath, name), errors);
  }
  for (const auto& [name, q] : resources.requests) {
    checkResourceName(name, key(reqPath, name), errors);
    checkQuantity(name, q, key(reqPath, name), errors);
    const auto limit = resources.limits.find(name);
    // Upstream names the requests map here, not the entry.
    if (limit != resources.limits.end()) {
      if (!overcommitAllowed(name) && q != limit->second) {
        errors.push_back(FieldError::invalid(
            reqPath, q.toString(),
            "must be equal to " + name + " limit of " + limit->second.toString()));
      } else if (q > limit->second) {
        errors.push_back(FieldError::invalid(
            reqPath, q.toString(),
            "must be less than or equal to " + name + " limit of " + limit->second.toString()));
      }
    } else if (!overcommitAllowed(name)) {
      errors.push_back(
          FieldError::required(limPath, "Limit must be set for non overcommitable resources"));
    }
  }
}

}  // namespace kite::api::podvalidation
