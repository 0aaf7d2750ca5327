#pragma once
// A Deployment's status from its ReplicaSets, and its Available and Progressing conditions
// with upstream's reasons and progress-deadline rules. Pure functions (the time is passed in).

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "kite/api/apps/v1/types.h"

namespace kite::controlplane::controllers {

using Deployment = api::apps::v1::Deployment;
using ReplicaSet = api::apps::v1::ReplicaSet;

inline constexpr std::string_view kRevisionAnnotation = "deployment.kubernetes.io/revision";
inline constexpr std::string_view kRevisionHistoryAnnotation =
    "deployment.kubernetes.io/revision-history";
inline constexpr std::string_view kDesiredReplicasAnnotation =
    "deployment.kubernetes.io/desired-replicas";
inline constexpr std::string_view kMaxReplicasAnnotation = "deployment.kubernetes.io/max-replicas";

// The revision annotation as a number; 0 when absent or not a number.
int64_t revisionOf(const api::meta::v1::ObjectMeta& m);
// maxUnavailable resolved for the deployment (0 for Recreate or zero replicas).
int32_t maxUnavailableOf(const Deployment& d);
int32_t maxSurgeOf(const Deployment& d);

// Every ReplicaSet's spec.replicas (or status fields) summed.
int32_t specReplicas(const std::vector<ReplicaSet>& sets);
int32_t availableReplicas(const std::vector<ReplicaSet>& sets);

// The counts of the status (conditions untouched but Available).
api::apps::v1::DeploymentStatus calculateStatus(const Deployment& d,
                                                const std::vector<ReplicaSet>& all,
                                                const ReplicaSet* newRS,
                                                std::chrono::system_clock::time_point now);

// Sets the condition; a condition of the same status and reason is left alone; the transition
// time is kept when only the reason changes.
void setCondition(std::vector<api::apps::v1::DeploymentCondition>& conditions,
                  const std::string& type, const std::string& status, const std::string& reason,
                  const std::string& message, std::chrono::system_clock::time_point now,
                  bool refreshUpdateTime = false);

// All replicas updated and available, none old, and the generation observed.
bool deploymentComplete(const Deployment& d, const api::apps::v1::DeploymentStatus& s);

// The Progressing condition after a sync: NewReplicaSetAvailable when complete,
// ReplicaSetUpdated while progress is made (refreshing lastUpdateTime),
// ProgressDeadlineExceeded once progressDeadlineSeconds passed without progress. Returns when
// to look again for a deadline (nullopt: no need).
std::optional<std::chrono::system_clock::time_point> updateProgressing(
    const Deployment& d, api::apps::v1::DeploymentStatus& next, const ReplicaSet* newRS,
    std::chrono::system_clock::time_point now);

}  // namespace kite::controlplane::controllers
