#pragma once
// Upstream's proportional scaling: when a Deployment is scaled in the middle of a rollout,
// the replicas added or removed are shared among its active ReplicaSets in proportion to
// their sizes (so neither the new nor the old template gains ground just by scaling). Pure.

#include <string>
#include <utility>
#include <vector>

#include "deployment_status.h"

namespace kite::controlplane::controllers {

// The new spec.replicas of each active ReplicaSet (spec.replicas > 0), by name, for a
// RollingUpdate Deployment whose total must become replicas + maxSurge (0 when scaled to 0).
// Each set's share is its size scaled by (replicas + maxSurge) / its max-replicas annotation
// (the Deployment's status.replicas without one); what rounding leaves over goes to the
// largest set. Ties: newer first when scaling up, older first when scaling down.
std::vector<std::pair<std::string, int32_t>> proportionalSizes(const Deployment& d,
                                                               std::vector<ReplicaSet> active);

// The size annotations of an active ReplicaSet no longer match the Deployment: it was scaled.
bool isScalingEvent(const Deployment& d, const std::vector<ReplicaSet>& all);

}  // namespace kite::controlplane::controllers
