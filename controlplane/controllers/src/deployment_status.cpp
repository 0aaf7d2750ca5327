#include "deployment_status.h"

#include <algorithm>
#include <climits>

#include "kite/api/meta.h"
#include "workload_rollout.h"

namespace kite::controlplane::controllers {

int64_t revisionOf(const api::meta::v1::ObjectMeta& m) {
  const auto it = m.annotations.find(std::string(kRevisionAnnotation));
  if (it == m.annotations.end()) return 0;
  try {
    return std::stoll(it->second);
  } catch (const std::exception&) {
    return 0;
  }
}

namespace {
bool isRolling(const Deployment& d) { return d.spec.strategy.type != "Recreate"; }
}  // namespace

int32_t maxUnavailableOf(const Deployment& d) {
  const int32_t replicas = d.spec.replicas.value_or(1);
  if (!isRolling(d) || replicas == 0 || !d.spec.strategy.rollingUpdate) return 0;
  const auto& ru = *d.spec.strategy.rollingUpdate;
  return std::min(resolveFenceposts(ru.maxSurge, ru.maxUnavailable, replicas).maxUnavailable,
                  replicas);
}

int32_t maxSurgeOf(const Deployment& d) {
  if (!isRolling(d) || !d.spec.strategy.rollingUpdate) return 0;
  const auto& ru = *d.spec.strategy.rollingUpdate;
  return resolveFenceposts(ru.maxSurge, ru.maxUnavailable, d.spec.replicas.value_or(1)).maxSurge;
}

int32_t specReplicas(const std::vector<ReplicaSet>& sets) {
  int32_t n = 0;
  for (const auto& rs : sets) n += rs.spec.replicas.value_or(1);
  return n;
}

int32_t availableReplicas(const std::vector<ReplicaSet>& sets) {
  int32_t n = 0;
  for (const auto& rs : sets) n += rs.status.availableReplicas;
  return n;
}

void setCondition(std::vector<api::apps::v1::DeploymentCondition>& conditions,
                  const std::string& type, const std::string& status, const std::string& reason,
                  const std::string& message, std::chrono::system_clock::time_point now,
                  bool refreshUpdateTime) {
  const auto t = api::Time(std::chrono::time_point_cast<std::chrono::seconds>(now));
  auto* cur = api::findCondition(conditions, type);
  if (cur != nullptr && cur->status == status && cur->reason == reason && !refreshUpdateTime) {
    return;
  }
  api::apps::v1::DeploymentCondition c;
  c.type = type;
  c.status = status;
  c.reason = reason;
  c.message = message;
  c.lastUpdateTime = t;
  c.lastTransitionTime = (cur != nullptr && cur->status == status) ? cur->lastTransitionTime : t;
  if (cur != nullptr) {
    *cur = c;
  } else {
    conditions.push_back(c);
  }
}

api::apps::v1::DeploymentStatus calculateStatus(const Deployment& d,
                                                const std::vector<ReplicaSet>& all,
                                                const ReplicaSet* newRS,
                                                std::chrono::system_clock::time_point now) {
  api::apps::v1::DeploymentStatus s = d.status;
  s.observedGeneration = d.metadata.generation;
  s.replicas = s.readyReplicas = s.availableReplicas = 0;
  for (const auto& rs : all) {
    s.replicas += rs.status.replicas;
    s.readyReplicas += rs.status.readyReplicas;
    s.availableReplicas += rs.status.availableReplicas;
  }
  s.updatedReplicas = newRS != nullptr ? newRS->status.replicas : 0;
  s.unavailableReplicas = std::max(0, specReplicas(all) - s.availableReplicas);
  const int32_t replicas = d.spec.replicas.value_or(1);
  if (s.availableReplicas >= replicas - maxUnavailableOf(d)) {
    setCondition(s.conditions, "Available", "True", "MinimumReplicasAvailable",
                 "Deployment has minimum availability.", now);
  } else {
    setCondition(s.conditions, "Available", "False", "MinimumReplicasUnavailable",
                 "Deployment does not have minimum availability.", now);
  }
  return s;
}

bool deploymentComplete(const Deployment& d, const api::apps::v1::DeploymentStatus& s) {
  const int32_t replicas = d.spec.replicas.value_or(1);
  return s.updatedReplicas == replicas && s.replicas == replicas &&
         s.availableReplicas == replicas && s.observedGeneration >= d.metadata.generation;
}

std::optional<std::chrono::system_clock::time_point> updateProgressing(
    const Deployment& d, api::apps::v1::DeploymentStatus& next, const ReplicaSet* newRS,
    std::chrono::system_clock::time_point now) {
  if (!d.spec.progressDeadlineSeconds || *d.spec.progressDeadlineSeconds == INT32_MAX) {
    return std::nullopt;
  }
  const auto deadline = std::chrono::seconds(*d.spec.progressDeadlineSeconds);
  const auto* cur = api::findCondition(next.conditions, "Progressing");
  // Timed out stays so until the rollout progresses or completes (as upstream).
  const bool timedOut = cur != nullptr && cur->reason == "ProgressDeadlineExceeded";
  const std::string subject = newRS != nullptr ? "ReplicaSet \"" + newRS->metadata.name + "\""
                                               : "Deployment \"" + d.metadata.name + "\"";
  if (deploymentComplete(d, next)) {
    setCondition(next.conditions, "Progressing", "True", "NewReplicaSetAvailable",
                 subject + " has successfully progressed.", now);
    return std::nullopt;
  }
  const auto& old = d.status;
  const bool progressing =
      next.updatedReplicas > old.updatedReplicas ||
      next.replicas - next.updatedReplicas < old.replicas - old.updatedReplicas ||
      next.readyReplicas > old.readyReplicas || next.availableReplicas > old.availableReplicas;
  if (progressing) {
    setCondition(next.conditions, "Progressing", "True", "ReplicaSetUpdated",
                 subject + " is progressing.", now, true);
  }
  if (timedOut && !progressing) return std::nullopt;
  cur = api::findCondition(next.conditions, "Progressing");
  if (cur == nullptr) return std::nullopt;
  const auto due = cur->lastUpdateTime.timePoint() + deadline;
  if (now > due) {
    setCondition(next.conditions, "Progressing", "False", "ProgressDeadlineExceeded",
                 subject + " has timed out progressing.", now);
    return std::nullopt;
  }
  return due + std::chrono::seconds(1);
}

}  // namespace kite::controlplane::controllers
