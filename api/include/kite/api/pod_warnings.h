#pragma once
// Warnings upstream's API server sends (as `Warning: 299` headers, printed by kubectl) for a
// pod spec it accepts but that will not behave as written. Only the checks kite has so far.

#include <string>
#include <string_view>
#include <vector>

#include "kite/api/core/v1/types.h"

namespace kite::api {

// The warnings for a pod spec at specPath ("spec" for a Pod, "spec.template.spec" for a
// Deployment), in upstream's wording, e.g. a negative terminationGracePeriodSeconds, which the
// server accepts and treats as one second.
std::vector<std::string> podSpecWarnings(const core::v1::PodSpec& spec, std::string_view specPath);

}  // namespace kite::api
