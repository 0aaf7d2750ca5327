#include "workload_pods.h"

#include <algorithm>

#include "kite/api/meta.h"

namespace kite::controlplane::controllers {

bool isPodTerminated(const Pod& pod) {
  return pod.status.phase == "Succeeded" || pod.status.phase == "Failed";
}

bool isPodActive(const Pod& pod) {
  return !isPodTerminated(pod) && !pod.metadata.deletionTimestamp;
}

bool isPodReady(const Pod& pod) {
  const auto* c = api::findCondition(pod.status.conditions, "Ready");
  return c != nullptr && c->status == "True";
}

std::optional<WallTime> availableAt(const Pod& pod, int32_t minReadySeconds) {
  const auto* c = api::findCondition(pod.status.conditions, "Ready");
  if (c == nullptr || c->status != "True") return std::nullopt;
  return c->lastTransitionTime.timePoint() + std::chrono::seconds(minReadySeconds);
}

bool isPodAvailable(const Pod& pod, int32_t minReadySeconds, WallTime now) {
  if (!isPodReady(pod)) return false;
  if (minReadySeconds <= 0) return true;
  const auto at = availableAt(pod, minReadySeconds);
  const auto* c = api::findCondition(pod.status.conditions, "Ready");
  // A Ready condition without a transition time counts as ready long enough.
  return c->lastTransitionTime.isZero() || (at && *at <= now);
}

namespace {

int phaseRank(const std::string& phase) {
  if (phase == "Pending") return 0;
  if (phase == "Unknown") return 1;
  if (phase == "Running") return 2;
  return 3;
}

int32_t restarts(const Pod& pod) {
  int32_t n = 0;
  for (const auto& cs : pod.status.containerStatuses) n = std::max(n, cs.restartCount);
  return n;
}

WallTime readySince(const Pod& pod) {
  const auto* c = api::findCondition(pod.status.conditions, "Ready");
  return c != nullptr ? c->lastTransitionTime.timePoint() : WallTime{};
}

// True when a should be deleted before b.
bool deleteFirst(const Pod* a, const Pod* b) {
  const bool aAssigned = !a->spec.nodeName.empty();
  const bool bAssigned = !b->spec.nodeName.empty();
  if (aAssigned != bAssigned) return !aAssigned;
  const int pa = phaseRank(a->status.phase);
  const int pb = phaseRank(b->status.phase);
  if (pa != pb) return pa < pb;
  const bool ra = isPodReady(*a);
  const bool rb = isPodReady(*b);
  if (ra != rb) return !ra;
  if (ra && rb) {
    const auto ta = readySince(*a);
    const auto tb = readySince(*b);
    if (ta != tb) return ta > tb;  // ready for less time goes first
  }
  const int32_t ca = restarts(*a);
  const int32_t cb = restarts(*b);
  if (ca != cb) return ca > cb;
  const auto& ka = a->metadata.creationTimestamp;
  const auto& kb = b->metadata.creationTimestamp;
  if (ka != kb) return ka > kb;  // newer first
  return a->metadata.name < b->metadata.name;
}

}  // namespace

std::vector<const Pod*> rankPodsForDeletion(std::vector<const Pod*> pods) {
  std::stable_sort(pods.begin(), pods.end(), deleteFirst);
  return pods;
}

api::meta::v1::OwnerReference controllerRef(std::string_view apiVersion, std::string_view kind,
                                            const api::meta::v1::ObjectMeta& owner) {
  api::meta::v1::OwnerReference ref;
  ref.apiVersion = std::string(apiVersion);
  ref.kind = std::string(kind);
  ref.name = owner.name;
  ref.uid = owner.uid;
  ref.controller = true;
  ref.blockOwnerDeletion = true;
  return ref;
}

bool isControlledBy(const api::meta::v1::ObjectMeta& m, std::string_view ownerUid) {
  const auto* ref = api::controllerOf(m);
  return ref != nullptr && ref->uid == ownerUid;
}

Pod podFromTemplate(const api::core::v1::PodTemplateSpec& tmpl, std::string_view ns,
                    std::string_view generatePrefix, const api::meta::v1::OwnerReference& owner) {
  Pod pod;
  pod.metadata.namespace_ = std::string(ns);
  pod.metadata.generateName = std::string(generatePrefix) + "-";
  pod.metadata.labels = tmpl.metadata.labels;
  pod.metadata.annotations = tmpl.metadata.annotations;
  pod.metadata.finalizers = tmpl.metadata.finalizers;
  pod.metadata.ownerReferences.push_back(owner);
  pod.spec = tmpl.spec;
  return pod;
}

namespace {
constexpr auto kExpectationsTimeout = std::chrono::minutes(5);
}

void Expectations::expectCreations(const std::string& key, int n) {
  std::lock_guard lock(mutex_);
  auto& p = pending_[key];
  p.adds += n;
  p.at = std::chrono::steady_clock::now();
}

void Expectations::expectDeletions(const std::string& key, int n) {
  std::lock_guard lock(mutex_);
  auto& p = pending_[key];
  p.dels += n;
  p.at = std::chrono::steady_clock::now();
}

void Expectations::creationObserved(const std::string& key) {
  std::lock_guard lock(mutex_);
  if (auto it = pending_.find(key); it != pending_.end() && it->second.adds > 0) {
    --it->second.adds;
  }
}

void Expectations::deletionObserved(const std::string& key) {
  std::lock_guard lock(mutex_);
  if (auto it = pending_.find(key); it != pending_.end() && it->second.dels > 0) {
    --it->second.dels;
  }
}

bool Expectations::satisfied(const std::string& key) const {
  std::lock_guard lock(mutex_);
  const auto it = pending_.find(key);
  if (it == pending_.end()) return true;
  if (it->second.adds <= 0 && it->second.dels <= 0) return true;
  return std::chrono::steady_clock::now() - it->second.at > kExpectationsTimeout;
}

void Expectations::forget(const std::string& key) {
  std::lock_guard lock(mutex_);
  pending_.erase(key);
}

}  // namespace kite::controlplane::controllers
