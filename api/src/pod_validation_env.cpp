// Container environment as upstream validates it: variable names, value or exactly one
// valueFrom source, downward API field and resource selectors, key references and envFrom.
#include <algorithm>
#include <array>
#include <cctype>
#include <string>

#include "kite/api/labels.h"
#include "pod_validation_formats.h"
#include "pod_validation_parts.h"

namespace kite::api::podvalidation {

namespace corev1 = core::v1;

namespace {

// What the downward API may expose, sorted as upstream lists them in errors. (Function
// statics: a throwing initializer then reaches the caller instead of terminating at startup.)
const std::vector<std::string>& envFieldPaths() {
  static const std::vector<std::string> paths = {"metadata.name",
                                                 "metadata.namespace",
                                                 "metadata.uid",
                                                 "spec.nodeName",
                                                 "spec.serviceAccountName",
                                                 "status.hostIP",
                                                 "status.hostIPs",
                                                 "status.podIP",
                                                 "status.podIPs"};
  return paths;
}
const std::vector<std::string>& volumeFieldPaths() {
  static const std::vector<std::string> paths = {"metadata.annotations", "metadata.labels",
                                                 "metadata.name", "metadata.namespace",
                                                 "metadata.uid"};
  return paths;
}
const std::vector<std::string>& resourceFieldPaths() {
  static const std::vector<std::string> paths = {
      "limits.cpu",   "limits.ephemeral-storage",   "limits.memory",
      "requests.cpu", "requests.ephemeral-storage", "requests.memory"};
  return paths;
}
// Every pod field the v1 downward API converts (a superset of both lists above).
constexpr std::array<std::string_view, 14> kConvertibleFieldPaths = {
    "metadata.annotations", "metadata.labels", "metadata.name",      "metadata.namespace",
    "metadata.uid",         "spec.nodeName",   "spec.restartPolicy", "spec.serviceAccountName",
    "spec.schedulerName",   "status.phase",    "status.hostIP",      "status.hostIPs",
    "status.podIP",         "status.podIPs"};

bool contains(const std::vector<std::string>& list, std::string_view value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

void addInvalid(Errors& errors, const std::string& path, std::string_view value,
                Messages messages) {
  for (auto& m : messages) errors.push_back(FieldError::invalid(path, value, std::move(m)));
}

// The divisors a resource may be divided by; checked only when one is given.
void checkDivisor(const std::string& resource, const Quantity& divisor, const std::string& path,
                  Errors& errors) {
  if (divisor.isZero()) return;
  const std::string text = divisor.toString();
  static const std::vector<std::string> kBytes = {"1",   "1k",  "1M",  "1G",  "1T",  "1P", "1E",
                                                  "1Ki", "1Mi", "1Gi", "1Ti", "1Pi", "1Ei"};
  if (resource == "limits.cpu" || resource == "requests.cpu") {
    if (text != "1m" && text != "1") {
      errors.push_back(FieldError::invalid(
          child(path, "divisor"), resource,
          "only divisor's values 1m and 1 are supported with the cpu resource"));
    }
    return;
  }
  std::string what;
  if (resource == "limits.memory" || resource == "requests.memory") {
    what = "the memory resource";
  } else if (resource == "limits.ephemeral-storage" || resource == "requests.ephemeral-storage") {
    what = "the local ephemeral storage resource";
  } else if (resource.starts_with("requests.hugepages-") ||
             resource.starts_with("limits.hugepages-")) {
    what = "the hugepages resource";
  } else {
    return;
  }
  if (!contains(kBytes, text)) {
    errors.push_back(FieldError::invalid(
        child(path, "divisor"), resource,
        "only divisor's values 1, 1k, 1M, 1G, 1T, 1P, 1E, 1Ki, 1Mi, 1Gi, 1Ti, 1Pi, 1Ei are "
        "supported with " +
            what));
  }
}

// ConfigMap and Secret key references: an object name and a valid key.
template <class Selector>
void checkKeySelector(const Selector& s, const std::string& path, Errors& errors) {
  addInvalid(errors, child(path, "name"), s.name, dnsSubdomainErrors(s.name));
  if (s.key.empty()) {
    errors.push_back(FieldError::required(child(path, "key")));
  } else {
    addInvalid(errors, child(path, "key"), s.key, configMapKeyErrors(s.key));
  }
}

template <class Source>
void checkEnvSourceName(const Source& s, const std::string& path, Errors& errors) {
  if (s.name.empty()) {
    errors.push_back(FieldError::required(child(path, "name")));
  } else {
    addInvalid(errors, child(path, "name"), s.name, dnsSubdomainErrors(s.name, true));
  }
}

void checkValueFrom(const corev1::EnvVar& var, const std::string& path, Errors& errors) {
  if (!var.valueFrom) return;
  const auto& from = *var.valueFrom;
  int sources = 0;
  if (from.fieldRef) {
    ++sources;
    validateObjectFieldSelector(*from.fieldRef, false, child(path, "fieldRef"), errors);
  }
  if (from.resourceFieldRef) {
    ++sources;
    validateResourceFieldSelector(*from.resourceFieldRef, false, child(path, "resourceFieldRef"),
                                  errors);
  }
  if (from.configMapKeyRef) {
    ++sources;
    checkKeySelector(*from.configMapKeyRef, child(path, "configMapKeyRef"), errors);
  }
  if (from.secretKeyRef) {
    ++sources;
    checkKeySelector(*from.secretKeyRef, child(path, "secretKeyRef"), errors);
  }
  if (!from.fileKeyRef.empty() && from.fileKeyRef.text() != "null") ++sources;
  if (sources == 0) {
    errors.push_back(FieldError::invalid(
        path, "",
        "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or "
        "`secretKeyRef`"));
  } else if (!var.value.empty()) {
    errors.push_back(
        FieldError::invalid(path, "", "may not be specified when `value` is not empty"));
  } else if (sources > 1) {
    errors.push_back(
        FieldError::invalid(path, "", "may not have more than one field specified at a time"));
  }
}

}  // namespace

void validateObjectFieldSelector(const corev1::ObjectFieldSelector& selector, bool forVolume,
                                 const std::string& path, Errors& errors) {
  // Upstream defaults apiVersion to v1 when decoding; kite's decoder leaves it empty.
  const std::string version = selector.apiVersion.empty() ? "v1" : selector.apiVersion;
  const std::string& fieldPath = selector.fieldPath;
  const std::string fp = child(path, "fieldPath");
  if (fieldPath.empty()) {
    errors.push_back(FieldError::required(fp));
    return;
  }
  if (version != "v1") {
    errors.push_back(FieldError::invalid(
        fp, fieldPath, "error converting fieldPath: unsupported pod version: " + version));
    return;
  }
  // metadata.labels['key'] and metadata.annotations['key'] name one entry.
  if (fieldPath.ends_with("']")) {
    const auto open = fieldPath.find("['");
    if (open != std::string::npos && open > 0) {
      const std::string base = fieldPath.substr(0, open);
      std::string subscript = fieldPath.substr(open + 2, fieldPath.size() - open - 4);
      if (base != "metadata.labels" && base != "metadata.annotations") {
        errors.push_back(FieldError::invalid(
            fp, fieldPath,
            "error converting fieldPath: field label does not support subscript: " + fieldPath));
        return;
      }
      if (base == "metadata.annotations") {
        std::transform(subscript.begin(), subscript.end(), subscript.begin(),
                       [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      }
      if (const std::string problem = labels::validateKey(subscript); !problem.empty()) {
        errors.push_back(FieldError::invalid(path, subscript, problem));
      }
      return;
    }
  }
  std::string converted = fieldPath == "spec.host" ? "spec.nodeName" : fieldPath;
  if (std::find(kConvertibleFieldPaths.begin(), kConvertibleFieldPaths.end(), converted) ==
      kConvertibleFieldPaths.end()) {
    errors.push_back(FieldError::invalid(
        fp, fieldPath, "error converting fieldPath: field label not supported: " + fieldPath));
    return;
  }
  const auto& allowed = forVolume ? volumeFieldPaths() : envFieldPaths();
  if (!contains(allowed, converted)) {
    errors.push_back(FieldError::notSupported(fp, converted, allowed));
  }
}

void validateResourceFieldSelector(const corev1::ResourceFieldSelector& selector, bool forVolume,
                                   const std::string& path, Errors& errors) {
  const std::string& resource = selector.resource;
  if (forVolume && selector.containerName.empty()) {
    errors.push_back(FieldError::required(child(path, "containerName")));
  } else if (resource.empty()) {
    errors.push_back(FieldError::required(child(path, "resource")));
  } else if (!contains(resourceFieldPaths(), resource) &&
             !resource.starts_with("requests.hugepages-") &&
             !resource.starts_with("limits.hugepages-")) {
    errors.push_back(
        FieldError::notSupported(child(path, "resource"), resource, resourceFieldPaths()));
  }
  checkDivisor(resource, selector.divisor, path, errors);
}

void validateEnv(const std::vector<corev1::EnvVar>& env, const std::string& path, Errors& errors) {
  for (std::size_t i = 0; i < env.size(); ++i) {
    const auto& var = env[i];
    const std::string idx = index(path, i);
    if (var.name.empty()) {
      errors.push_back(FieldError::required(child(idx, "name")));
    } else {
      addInvalid(errors, child(idx, "name"), var.name, envVarNameErrors(var.name));
    }
    checkValueFrom(var, child(idx, "valueFrom"), errors);
  }
}

void validateEnvFrom(const std::vector<corev1::EnvFromSource>& envFrom, const std::string& path,
                     Errors& errors) {
  for (std::size_t i = 0; i < envFrom.size(); ++i) {
    const auto& source = envFrom[i];
    const std::string idx = index(path, i);
    if (!source.prefix.empty()) {
      addInvalid(errors, child(idx, "prefix"), source.prefix, envVarNameErrors(source.prefix));
    }
    int sources = 0;
    if (source.configMapRef) {
      ++sources;
      checkEnvSourceName(*source.configMapRef, child(idx, "configMapRef"), errors);
    }
    if (source.secretRef) {
      ++sources;
      checkEnvSourceName(*source.secretRef, child(idx, "secretRef"), errors);
    }
    // Upstream reports these two at the list, not at the entry.
    if (sources == 0) {
      errors.push_back(
          FieldError::invalid(path, "", "must specify one of: `configMapRef` or `secretRef`"));
    } else if (sources > 1) {
      errors.push_back(
          FieldError::invalid(path, "", "may not have more than one field specified at a time"));
    }
  }
}

}  // namespace kite::api::podvalidation
