#include "priority_admission.h"

#include <string>

#include "api_error.h"

namespace kite::controlplane::apiserver {

namespace {

namespace corev1 = api::core::v1;
namespace schedv1 = api::scheduling::v1;

[[noreturn]] void forbidPod(const corev1::Pod& pod, const std::string& reason) {
  throw ApiError::forbiddenObject("", "pods", pod.metadata.name, reason);
}

const schedv1::PriorityClass* findClass(const PriorityClasses& classes, const std::string& name) {
  for (const auto& pc : classes) {
    if (pc.metadata.name == name) return &pc;
  }
  return nullptr;
}

}  // namespace

const schedv1::PriorityClass* globalDefaultPriorityClass(const PriorityClasses& classes) {
  const schedv1::PriorityClass* best = nullptr;
  for (const auto& pc : classes) {
    if (pc.globalDefault && (best == nullptr || pc.value < best->value)) best = &pc;
  }
  return best;
}

void admitPodPriority(corev1::Pod& pod, const PriorityClasses& classes) {
  auto& spec = pod.spec;
  std::int32_t priority = 0;
  std::optional<std::string> policy = "PreemptLowerPriority";
  if (spec.priorityClassName.empty()) {
    if (const auto* dpc = globalDefaultPriorityClass(classes)) {
      spec.priorityClassName = dpc->metadata.name;
      priority = dpc->value;
      policy = dpc->preemptionPolicy;
    }
  } else {
    const auto* pc = findClass(classes, spec.priorityClassName);
    if (pc == nullptr) {
      forbidPod(pod, "no PriorityClass with name " + spec.priorityClassName + " was found");
    }
    priority = pc->value;
    policy = pc->preemptionPolicy;
  }
  if (spec.priority && *spec.priority != priority) {
    forbidPod(pod, "the integer value of priority (" + std::to_string(*spec.priority) +
                       ") must not be provided in pod spec; priority admission controller "
                       "computed " +
                       std::to_string(priority) + " from the given PriorityClass name");
  }
  spec.priority = priority;
  if (policy) {
    if (spec.preemptionPolicy && *spec.preemptionPolicy != *policy) {
      forbidPod(pod, "the string value of PreemptionPolicy (" + *spec.preemptionPolicy +
                         ") must not be provided in pod spec; priority admission controller "
                         "computed " +
                         *policy + " from the given PriorityClass name");
    }
    spec.preemptionPolicy = policy;
  }
}

void keepPodPriority(corev1::Pod& pod, const corev1::Pod& old) {
  if (!pod.spec.priority) pod.spec.priority = old.spec.priority;
  if (!pod.spec.preemptionPolicy) pod.spec.preemptionPolicy = old.spec.preemptionPolicy;
}

void admitPriorityClass(const schedv1::PriorityClass& pc, const PriorityClasses& classes) {
  if (!pc.globalDefault) return;
  const auto* dpc = globalDefaultPriorityClass(classes);
  // A class that is already the default may stay it (an update of itself).
  if (dpc == nullptr || dpc->metadata.name == pc.metadata.name) return;
  throw ApiError::forbiddenObject("scheduling.k8s.io", "priorityclasses", pc.metadata.name,
                                  "PriorityClass " + dpc->metadata.name +
                                      " is already marked as default. Only one default can exist");
}

}  // namespace kite::controlplane::apiserver
