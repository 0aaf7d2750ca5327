#pragma once
// The pure arithmetic of Deployments: maxSurge/maxUnavailable from ints or percentages, and
// the pod-template-hash that names a Deployment's ReplicaSets.

#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include "kite/api/core/v1/types.h"
#include "kite/api/int_or_string.h"

namespace kite::controlplane::controllers {

// An int, or a percentage of total rounded up or down. Throws std::invalid_argument naming
// `field` for a string that is not "<n>%".
int32_t scaledValue(const api::IntOrString& value, int32_t total, bool roundUp,
                    std::string_view field);

struct Fenceposts {
  int32_t maxSurge = 0;
  int32_t maxUnavailable = 0;
};
// Upstream's ResolveFenceposts: surge rounds up, unavailable rounds down, and when both come
// out zero unavailable becomes one so a rollout can progress.
Fenceposts resolveFenceposts(const std::optional<api::IntOrString>& maxSurge,
                             const std::optional<api::IntOrString>& maxUnavailable,
                             int32_t desired);

// A stable hash of a pod template (its canonical JSON, the pod-template-hash label left out)
// and the collision count, as the short alphanumeric string upstream puts in the label.
std::string podTemplateHash(const api::core::v1::PodTemplateSpec& tmpl,
                            std::optional<int32_t> collisionCount);

// A short hash of text and the collision count: FNV-1a written in upstream's
// SafeEncodeString alphabet. Both template hashes and revision hashes use it.
std::string shortHash(std::string_view text, std::optional<int32_t> collisionCount);

// Whether two templates are equal but for their pod-template-hash labels.
bool equalIgnoringHash(const api::core::v1::PodTemplateSpec& a,
                       const api::core::v1::PodTemplateSpec& b);

inline constexpr std::string_view kPodTemplateHashLabel = "pod-template-hash";

}  // namespace kite::controlplane::controllers
