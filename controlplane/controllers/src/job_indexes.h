#pragma once
// Completion indexes of Indexed Jobs: the interval strings of status.completedIndexes and
// status.failedIndexes ("0-2,4"), and the index a pod carries.

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "kite/api/core/v1/types.h"

namespace kite::controlplane::controllers {

inline constexpr std::string_view kJobCompletionIndexKey =
    "batch.kubernetes.io/job-completion-index";
inline constexpr std::string_view kJobIndexFailureCountKey =
    "batch.kubernetes.io/job-index-failure-count";
inline constexpr std::string_view kJobTrackingFinalizer = "batch.kubernetes.io/job-tracking";

// The indexes in "0-2,4" below `completions`; malformed or out-of-range parts are skipped
// (the status is the controller's own output, so a bad part is dropped, not fatal).
std::set<int32_t> parseIndexes(std::string_view text, int32_t completions);
// Ascending indexes as "0-2,4": runs of two or more as a range, as upstream writes them.
std::string formatIndexes(const std::set<int32_t>& indexes);
// The pod's completion index from its annotation (or label), or nullopt when absent, not a
// number or not below `completions`.
std::optional<int32_t> completionIndexOf(const api::core::v1::Pod& pod, int32_t completions);

}  // namespace kite::controlplane::controllers
