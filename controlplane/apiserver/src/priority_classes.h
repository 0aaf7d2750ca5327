#pragma once
// scheduling.k8s.io PriorityClasses as upstream defines them: the two built-in system classes,
// the validation of user classes (names starting with "system-" are reserved, values above
// one billion belong to the system) and what may change on update.

#include <cstdint>
#include <string_view>
#include <vector>

#include "kite/api/field_errors.h"
#include "kite/api/scheduling/v1/types.h"

namespace kite::controlplane::apiserver {

// Upstream's HighestUserDefinablePriority and SystemCriticalPriority.
inline constexpr std::int32_t kHighestUserDefinablePriority = 1000000000;
inline constexpr std::int32_t kSystemCriticalPriority = 2 * kHighestUserDefinablePriority;
inline constexpr std::string_view kSystemPriorityClassPrefix = "system-";

// system-node-critical and system-cluster-critical, as the server creates them at start.
const std::vector<api::scheduling::v1::PriorityClass>& systemPriorityClasses();
bool isSystemPriorityClass(std::string_view name);

// Upstream's defaulting: preemptionPolicy PreemptLowerPriority.
void defaultPriorityClass(api::scheduling::v1::PriorityClass& pc);
void validatePriorityClass(std::vector<api::FieldError>& errors,
                           const api::scheduling::v1::PriorityClass& pc);
// value and preemptionPolicy are immutable.
void validatePriorityClassUpdate(std::vector<api::FieldError>& errors,
                                 const api::scheduling::v1::PriorityClass& pc,
                                 const api::scheduling::v1::PriorityClass& old);

}  // namespace kite::controlplane::apiserver
