#pragma once
// The parts of pod validation (volumes, containers), shared by pod_validation*.cpp only.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kite/api/core/v1/types.h"
#include "kite/api/field_errors.h"

namespace kite::api::podvalidation {

using Errors = std::vector<FieldError>;

// Field path building, as upstream's field.Path prints: a.b, a[3], a[key].
inline std::string child(std::string_view path, std::string_view name) {
  std::string out(path);
  if (!out.empty()) out += '.';
  out += name;
  return out;
}
inline std::string index(std::string_view path, std::size_t i) {
  return std::string(path) + "[" + std::to_string(i) + "]";
}
inline std::string key(std::string_view path, std::string_view k) {
  return std::string(path) + "[" + std::string(k) + "]";
}

// An Invalid error whose value prints without quotes (numbers, resource names, lists).
FieldError invalidRaw(std::string field, std::string value, std::string detail);

// The volumes that passed validation, by name (mounts may only refer to these, as upstream).
using VolumeMap = std::map<std::string, const core::v1::VolumeSource*>;

// spec.volumes: names, exactly one source each, and each source's own rules.
VolumeMap validateVolumes(const std::vector<core::v1::Volume>& volumes, const std::string& path,
                          Errors& errors);

// spec.containers (required, unique names, probes and lifecycle, host port conflicts) and
// spec.initContainers (sidecars may have probes, others may not).
void validateContainers(const core::v1::PodSpec& spec, const VolumeMap& volumes,
                        const std::string& path, Errors& errors);
void validateInitContainers(const core::v1::PodSpec& spec, const VolumeMap& volumes,
                            const std::string& path, Errors& errors);

// A probe or lifecycle handler: exactly one action, each action's fields.
struct HandlerRef {
  const core::v1::ExecAction* exec = nullptr;
  const core::v1::HTTPGetAction* httpGet = nullptr;
  const core::v1::TCPSocketAction* tcpSocket = nullptr;
  const core::v1::GRPCAction* grpc = nullptr;
  const core::v1::SleepAction* sleep = nullptr;
};
void validateHandler(const HandlerRef& handler, std::optional<int64_t> gracePeriod,
                     const std::string& path, Errors& errors);

// Env, envFrom, ports, volume mounts, resources and security context of one container.
void validateEnv(const std::vector<core::v1::EnvVar>& env, const std::string& path, Errors& errors);
void validateEnvFrom(const std::vector<core::v1::EnvFromSource>& envFrom, const std::string& path,
                     Errors& errors);
void validatePorts(const std::vector<core::v1::ContainerPort>& ports, const std::string& path,
                   Errors& errors);
void validateVolumeMounts(const core::v1::Container& container, const VolumeMap& volumes,
                          const std::string& path, Errors& errors);
void validateResources(const core::v1::ResourceRequirements& resources, const std::string& path,
                       Errors& errors);

// fieldRef of env (pod fields) and of downwardAPI volume items (which also allow labels and
// annotations as a whole).
void validateObjectFieldSelector(const core::v1::ObjectFieldSelector& selector, bool forVolume,
                                 const std::string& path, Errors& errors);
// resourceFieldRef; a volume item must name its container.
void validateResourceFieldSelector(const core::v1::ResourceFieldSelector& selector, bool forVolume,
                                   const std::string& path, Errors& errors);

}  // namespace kite::api::podvalidation
