#include "job_failure_policy.h"

#include <algorithm>

namespace kite::controlplane::controllers {
namespace {

using api::batch::v1::PodFailurePolicyOnExitCodesRequirement;
using api::core::v1::ContainerStatus;

bool knownAction(const std::string& a) {
  return a == "FailJob" || a == "FailIndex" || a == "Ignore" || a == "Count";
}

bool exitCodeMatches(int32_t code, const PodFailurePolicyOnExitCodesRequirement& r) {
  const bool listed = std::find(r.values.begin(), r.values.end(), code) != r.values.end();
  if (r.operator_ == "In") return listed;
  if (r.operator_ == "NotIn") return !listed;
  return false;
}

// The first terminated container (regular before init) with a non-zero exit code that
// satisfies the requirement; exit code 0 never matches, as upstream.
const ContainerStatus* matchingContainer(const api::core::v1::PodStatus& status,
                                         const PodFailurePolicyOnExitCodesRequirement& r) {
  for (const auto* list : {&status.containerStatuses, &status.initContainerStatuses}) {
    for (const auto& cs : *list) {
      if (!cs.state.terminated || cs.state.terminated->exitCode == 0) continue;
      if (r.containerName && *r.containerName != cs.name) continue;
      if (exitCodeMatches(cs.state.terminated->exitCode, r)) return &cs;
    }
  }
  return nullptr;
}

const api::core::v1::PodCondition* matchingCondition(
    const api::core::v1::PodStatus& status,
    const std::vector<api::batch::v1::PodFailurePolicyOnPodConditionsPattern>& patterns) {
  for (const auto& c : status.conditions) {
    for (const auto& p : patterns) {
      const std::string& want = p.status.empty() ? std::string("True") : p.status;
      if (c.type == p.type && c.status == want) return &c;
    }
  }
  return nullptr;
}

}  // namespace

std::optional<FailurePolicyMatch> matchPodFailurePolicy(
    const api::batch::v1::PodFailurePolicy& policy, const api::core::v1::Pod& failedPod) {
  const auto& m = failedPod.metadata;
  for (size_t i = 0; i < policy.rules.size(); ++i) {
    const auto& rule = policy.rules[i];
    if (!knownAction(rule.action)) continue;
    const std::string at = " matching " + rule.action + " rule at index " + std::to_string(i);
    if (rule.onExitCodes) {
      if (const auto* cs = matchingContainer(failedPod.status, *rule.onExitCodes)) {
        return FailurePolicyMatch{
            rule.action, "Container " + cs->name + " for pod " + m.namespace_ + "/" + m.name +
                             " failed with exit code " +
                             std::to_string(cs->state.terminated->exitCode) + at};
      }
    } else if (!rule.onPodConditions.empty()) {
      if (const auto* c = matchingCondition(failedPod.status, rule.onPodConditions)) {
        return FailurePolicyMatch{
            rule.action, "Pod " + m.namespace_ + "/" + m.name + " has condition " + c->type + at};
      }
    }
  }
  return std::nullopt;
}

}  // namespace kite::controlplane::controllers
