#pragma once
// An Indexed Job's successPolicy: the rules, in order, that declare the Job succeeded before
// every index has. A rule with succeededIndexes needs all of those indexes succeeded, or
// succeededCount of them when that is set too; a rule with only succeededCount needs that
// many succeeded indexes in all. A rule whose succeededIndexes names no index below
// completions never matches.

#include <cstdint>
#include <optional>
#include <set>
#include <string>

#include "kite/api/batch/v1/types.h"

namespace kite::controlplane::controllers {

// The SuccessCriteriaMet message of the first matching rule ("Matched rules at index N", in
// upstream's words), or nullopt when none matches or nothing succeeded yet.
std::optional<std::string> matchSuccessPolicy(const api::batch::v1::SuccessPolicy& policy,
                                              int32_t completions,
                                              const std::set<int32_t>& succeededIndexes);

}  // namespace kite::controlplane::controllers
