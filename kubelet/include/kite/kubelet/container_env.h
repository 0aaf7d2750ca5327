#pragma once
// A container's environment as upstream builds it: envFrom first, then env
// (later entries win), $(VAR) references expanded against what is defined so
// far, and valueFrom resolved from the pod (fieldRef), the container's
// resources (resourceFieldRef) or ConfigMaps/Secrets. A reference that cannot
// be resolved throws ContainerConfigError, which the kubelet reports as the
// container's CreateContainerConfigError.

#include <map>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "kite/api/core/v1/types.h"
#include "kite/kubelet/config_source.h"

namespace kite::kubelet {

class ContainerConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct PodRuntimeFacts {
  std::string podIP;
  std::vector<std::string> podIPs;
  std::string hostIP;
  std::string nodeName;
  int64_t nodeAllocatableMilliCpu = 0;  // limits default to these when unset
  int64_t nodeAllocatableMemory = 0;
};

// Ordered name/value pairs (order matters to $(VAR) expansion and to users).
using EnvList = std::vector<std::pair<std::string, std::string>>;

EnvList containerEnv(const api::core::v1::Pod& pod, const api::core::v1::Container& container,
                     const PodRuntimeFacts& facts, ConfigSource& config);

// Upstream's $(VAR) expansion: $(NAME) becomes its value when NAME is defined,
// $$ escapes a $, anything else stays as written.
std::string expandVariables(const std::string& input,
                            const std::map<std::string, std::string>& env);

// A fieldRef path (metadata.name, metadata.labels['k'], status.podIP, ...).
std::string podFieldValue(const api::core::v1::Pod& pod, const std::string& fieldPath,
                          const PodRuntimeFacts& facts);

// A resourceFieldRef value (limits.cpu, requests.memory, ...) of the named
// container, or of `self` when the selector names none; an unset limit reads
// as the node's allocatable, as upstream does.
std::string resourceFieldValue(const api::core::v1::Pod& pod, const api::core::v1::Container* self,
                               const api::core::v1::ResourceFieldSelector& selector,
                               const PodRuntimeFacts& facts);

}  // namespace kite::kubelet
