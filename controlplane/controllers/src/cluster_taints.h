#pragma once
// Taints and tolerations as the node lifecycle controller reads them (upstream's
// Toleration.ToleratesTaint and the taint manager's minimum toleration time).

#include <chrono>
#include <optional>
#include <vector>

#include "kite/api/core/v1/types.h"

namespace kite::controlplane::controllers {

bool clusterTolerates(const api::core::v1::Toleration& toleration,
                      const api::core::v1::Taint& taint);

// How long the pod may stay on a node with these NoExecute taints: zero when one of them is
// not tolerated (evict now), nullopt when all are tolerated forever, else the smallest
// tolerationSeconds of the tolerations that match.
std::optional<std::chrono::seconds> clusterTimeToEviction(
    const std::vector<api::core::v1::Toleration>& tolerations,
    const std::vector<api::core::v1::Taint>& noExecuteTaints);

}  // namespace kite::controlplane::controllers
