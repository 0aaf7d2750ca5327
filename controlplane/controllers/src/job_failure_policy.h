#pragma once
// A Job's podFailurePolicy applied to one failed pod: the first rule whose onExitCodes or
// onPodConditions match decides (FailJob, FailIndex, Ignore or Count); unknown actions are
// skipped, as upstream clients are told to.

#include <optional>
#include <string>

#include "kite/api/batch/v1/types.h"
#include "kite/api/core/v1/types.h"

namespace kite::controlplane::controllers {

struct FailurePolicyMatch {
  std::string action;   // FailJob, FailIndex, Ignore or Count
  std::string message;  // for FailJob: the Job's Failed condition message, in upstream's words
};

// nullopt when no rule matches (the failure counts as usual).
std::optional<FailurePolicyMatch> matchPodFailurePolicy(
    const api::batch::v1::PodFailurePolicy& policy, const api::core::v1::Pod& failedPod);

}  // namespace kite::controlplane::controllers
