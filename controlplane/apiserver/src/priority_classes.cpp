#include "priority_classes.h"

#include <optional>
#include <string>

namespace kite::controlplane::apiserver {

namespace {

namespace schedv1 = api::scheduling::v1;
using api::FieldError;

schedv1::PriorityClass systemClass(const char* name, std::int32_t value, const char* description) {
  schedv1::PriorityClass pc;
  pc.metadata.name = name;
  pc.value = value;
  pc.description = description;
  defaultPriorityClass(pc);
  return pc;
}

// Why a "system-" name is not acceptable (upstream's IsKnownSystemPriorityClass), or nullopt.
std::optional<std::string> systemClassMismatch(const schedv1::PriorityClass& pc) {
  for (const auto& known : systemPriorityClasses()) {
    if (known.metadata.name != pc.metadata.name) continue;
    if (known.value != pc.value) {
      return "value of " + known.metadata.name + " PriorityClass must be " +
             std::to_string(known.value);
    }
    if (known.globalDefault != pc.globalDefault) {
      return "globalDefault of " + known.metadata.name + " PriorityClass must be " +
             (known.globalDefault ? "true" : "false");
    }
    return std::nullopt;
  }
  return pc.metadata.name + " is not a known system priority class";
}

}  // namespace

const std::vector<schedv1::PriorityClass>& systemPriorityClasses() {
  static const std::vector<schedv1::PriorityClass> classes = {
      systemClass("system-node-critical", kSystemCriticalPriority + 1000,
                  "Used for system critical pods that must not be moved from their current node."),
      systemClass("system-cluster-critical", kSystemCriticalPriority,
                  "Used for system critical pods that must run in the cluster, but can be moved "
                  "to another node if necessary."),
  };
  return classes;
}

bool isSystemPriorityClass(std::string_view name) {
  for (const auto& known : systemPriorityClasses()) {
    if (known.metadata.name == name) return true;
  }
  return false;
}

void defaultPriorityClass(schedv1::PriorityClass& pc) {
  if (!pc.preemptionPolicy) pc.preemptionPolicy = "PreemptLowerPriority";
}

void validatePriorityClass(std::vector<FieldError>& errors, const schedv1::PriorityClass& pc) {
  if (pc.metadata.name.starts_with(kSystemPriorityClassPrefix)) {
    if (auto why = systemClassMismatch(pc)) {
      errors.push_back(FieldError::forbidden(
          "metadata.name", "priority class names with '" + std::string(kSystemPriorityClassPrefix) +
                               "' prefix are reserved for system use only. error: " + *why));
    }
  } else if (pc.value > kHighestUserDefinablePriority) {
    errors.push_back(FieldError::forbidden("value",
                                           "maximum allowed value of a user defined "
                                           "priority is " +
                                               std::to_string(kHighestUserDefinablePriority)));
  }
  if (pc.preemptionPolicy && *pc.preemptionPolicy != "PreemptLowerPriority" &&
      *pc.preemptionPolicy != "Never") {
    errors.push_back(FieldError::notSupported("preemptionPolicy", *pc.preemptionPolicy,
                                              {"Never", "PreemptLowerPriority"}));
  }
}

void validatePriorityClassUpdate(std::vector<FieldError>& errors, const schedv1::PriorityClass& pc,
                                 const schedv1::PriorityClass& old) {
  if (pc.value != old.value) {
    errors.push_back(FieldError::forbidden("value", "may not be changed in an update."));
  }
  if (pc.preemptionPolicy != old.preemptionPolicy) {
    errors.push_back(FieldError::invalid("preemptionPolicy", pc.preemptionPolicy.value_or(""),
                                         "field is immutable"));
  }
}

}  // namespace kite::controlplane::apiserver
