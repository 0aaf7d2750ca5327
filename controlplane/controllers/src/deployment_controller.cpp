#include "deployment_controller.h"

#include <algorithm>

#include "cluster_events.h"
#include "deployment_scaling.h"
#include "deployment_status.h"
#include "kite/api/labels.h"
#include "kite/api/meta.h"
#include "workload_controller_base.h"
#include "workload_pods.h"
#include "workload_rollout.h"

namespace kite::controlplane::controllers {
namespace {

bool olderFirst(const ReplicaSet& a, const ReplicaSet& b) {
  if (a.metadata.creationTimestamp != b.metadata.creationTimestamp) {
    return a.metadata.creationTimestamp < b.metadata.creationTimestamp;
  }
  return a.metadata.name < b.metadata.name;
}

// Annotations of the Deployment that are not copied to its ReplicaSets.
bool skipAnnotation(const std::string& key) {
  return key == "kubectl.kubernetes.io/last-applied-configuration" || key == kRevisionAnnotation ||
         key == kRevisionHistoryAnnotation || key == kDesiredReplicasAnnotation ||
         key == kMaxReplicasAnnotation || key == "deprecated.deployment.rollback.to";
}

// The state of one sync: the Deployment, its ReplicaSets (new and old) and a Progressing
// condition set on the way (NewReplicaSetCreated, FoundNewReplicaSet).
struct Rollout {
  Deployment d;
  std::optional<ReplicaSet> newRS;
  std::vector<ReplicaSet> old;

  std::vector<ReplicaSet> all() const {
    std::vector<ReplicaSet> out = old;
    if (newRS) out.push_back(*newRS);
    return out;
  }
};

class DeploymentController final : public WorkloadControllerBase {
 public:
  DeploymentController(client::Client& client,
                       const std::shared_ptr<client::SharedInformers>& informers,
                       const WorkloadControllerOptions& options)
      : WorkloadControllerBase(client, options, informers),
        deployments_(informers->get<Deployment>()),
        sets_(informers->get<ReplicaSet>()),
        pods_(informers->get<Pod>()) {
    own(deployments_);
    own(sets_);
    own(pods_);
    const auto byController = [](const api::meta::v1::ObjectMeta& m) {
      const auto* ref = api::controllerOf(m);
      return ref != nullptr ? std::vector<std::string>{ref->uid} : std::vector<std::string>{};
    };
    sets_.addIndexer("controller", [=](const ReplicaSet& rs) { return byController(rs.metadata); });
    pods_.addIndexer("controller", [=](const Pod& p) { return byController(p.metadata); });
    const auto onDeployment = [this](const Deployment& d) { enqueue(api::fullName(d.metadata)); };
    deployments_.addEventHandler(
        {.onAdd = onDeployment,
         .onUpdate = [=](const Deployment&, const Deployment& d) { onDeployment(d); },
         .onDelete = onDeployment});
    const auto onSet = [this](const ReplicaSet& rs) { enqueueOwnerOf(rs); };
    sets_.addEventHandler({.onAdd = onSet,
                           .onUpdate = [=](const ReplicaSet&, const ReplicaSet& rs) { onSet(rs); },
                           .onDelete = onSet});
    // Recreate waits for the old pods to be gone.
    pods_.addEventHandler({.onDelete = [this](const Pod& p) { enqueueForPod(p); }});
  }
  ~DeploymentController() override { stop(); }

  std::string name() const override { return "deployment"; }

 private:
  void enqueueOwnerOf(const ReplicaSet& rs) {
    const auto* ref = api::controllerOf(rs.metadata);
    if (ref != nullptr) {
      if (ref->kind == "Deployment") enqueue(api::fullName(rs.metadata.namespace_, ref->name));
      return;
    }
    for (const auto& d : deployments_.cache().list(rs.metadata.namespace_)) {
      if (api::labels::matches(d->spec.selector, rs.metadata.labels)) {
        enqueue(api::fullName(d->metadata));
      }
    }
  }
  void enqueueForPod(const Pod& p) {
    const auto* ref = api::controllerOf(p.metadata);
    if (ref == nullptr || ref->kind != "ReplicaSet") return;
    if (const auto rs = sets_.cache().get(p.metadata.namespace_, ref->name)) enqueueOwnerOf(*rs);
  }

  void sync(const std::string& key) override {
    const auto cached = deployments_.cache().getByKey(key);
    if (!cached) return;
    Rollout r{*cached, std::nullopt, {}};
    const auto selector = api::labels::Selector::fromLabelSelector(
        r.d.spec.selector.value_or(api::meta::v1::LabelSelector{}));
    if (selector.matchesEverything()) return;  // upstream refuses to select every pod
    std::vector<ReplicaSet> sets = ownedSets(r.d, selector);
    std::sort(sets.begin(), sets.end(), olderFirst);
    for (auto& rs : sets) {
      if (!r.newRS && equalIgnoringHash(rs.spec.template_, r.d.spec.template_)) {
        r.newRS = std::move(rs);
      } else {
        r.old.push_back(std::move(rs));
      }
    }
    if (r.d.metadata.deletionTimestamp) return writeStatus(key, r);
    if (r.d.spec.paused) {
      syncNewSetRevision(r);
      scaleDeployment(r);
      if (deploymentComplete(r.d, calculateStatus(r.d, r.all(), nullptr, now()))) cleanup(r);
      setCondition(r.d.status.conditions, "Progressing", "Unknown", "DeploymentPaused",
                   "Deployment is paused", now());
      return writeStatus(key, r);
    }
    if (const auto* c = api::findCondition(r.d.status.conditions, "Progressing");
        c != nullptr && c->reason == "DeploymentPaused") {
      setCondition(r.d.status.conditions, "Progressing", "Unknown", "DeploymentResumed",
                   "Deployment is resumed", now());
    }
    if (isScalingEvent(r.d, r.all())) {
      syncNewSetRevision(r);
      scaleDeployment(r);
      return writeStatus(key, r);
    }
    if (r.d.spec.strategy.type == "Recreate") {
      rolloutRecreate(key, r);
    } else {
      rolloutRolling(key, r);
    }
  }

  std::vector<ReplicaSet> ownedSets(const Deployment& d, const api::labels::Selector& selector) {
    std::vector<ReplicaSet> out;
    for (const auto& rs : sets_.cache().byIndex("controller", d.metadata.uid)) out.push_back(*rs);
    if (d.metadata.deletionTimestamp) return out;
    for (const auto& rs : sets_.cache().list(d.metadata.namespace_, selector)) {
      if (api::controllerOf(rs->metadata) != nullptr || rs->metadata.deletionTimestamp) continue;
      ReplicaSet copy = *rs;
      copy.metadata.ownerReferences.push_back(
          controllerRef(Deployment::kApiVersion, Deployment::kKind, d.metadata));
      out.push_back(client_.update(copy));
    }
    return out;
  }

  // ---- the new ReplicaSet and revisions ----
  int64_t maxOldRevision(const Rollout& r) const {
    int64_t max = 0;
    for (const auto& rs : r.old) max = std::max(max, revisionOf(rs.metadata));
    return max;
  }

  // Brings an existing new ReplicaSet's revision (and copied annotations) up to date.
  void syncNewSetRevision(Rollout& r) {
    if (!r.newRS) return;
    ReplicaSet rs = *r.newRS;
    const int64_t want = maxOldRevision(r) + 1;
    const int64_t have = revisionOf(rs.metadata);
    auto& ann = rs.metadata.annotations;
    if (have < want) {
      if (have > 0) {
        auto& history = ann[std::string(kRevisionHistoryAnnotation)];
        history = history.empty() ? std::to_string(have) : history + "," + std::to_string(have);
      }
      ann[std::string(kRevisionAnnotation)] = std::to_string(want);
    }
    copyAnnotations(r.d, rs, false);
    if (rs.metadata.annotations != r.newRS->metadata.annotations ||
        rs.spec.minReadySeconds != r.d.spec.minReadySeconds) {
      rs.spec.minReadySeconds = r.d.spec.minReadySeconds;
      r.newRS = client_.update(rs);
    }
    if (api::findCondition(r.d.status.conditions, "Progressing") == nullptr) {
      setCondition(r.d.status.conditions, "Progressing", "True", "FoundNewReplicaSet",
                   "Found new replica set \"" + r.newRS->metadata.name + "\"", now());
    }
  }

  // The size annotations are kept unless `sizes` (a set being created or scaled): proportional
  // scaling reads the sizes a set was last scaled for.
  void copyAnnotations(const Deployment& d, ReplicaSet& rs, bool sizes = true) const {
    for (const auto& [k, v] : d.metadata.annotations) {
      if (!skipAnnotation(k)) rs.metadata.annotations[k] = v;
    }
    if (!sizes && rs.metadata.annotations.contains(std::string(kDesiredReplicasAnnotation))) return;
    const int32_t replicas = d.spec.replicas.value_or(1);
    rs.metadata.annotations[std::string(kDesiredReplicasAnnotation)] = std::to_string(replicas);
    rs.metadata.annotations[std::string(kMaxReplicasAnnotation)] =
        std::to_string(replicas + maxSurgeOf(d));
  }

  void createNewSet(Rollout& r, int32_t replicas) {
    const auto collision = r.d.status.collisionCount;
    const std::string hash = podTemplateHash(r.d.spec.template_, collision);
    ReplicaSet rs;
    rs.metadata.name = r.d.metadata.name + "-" + hash;
    rs.metadata.namespace_ = r.d.metadata.namespace_;
    rs.spec.template_ = r.d.spec.template_;
    rs.spec.template_.metadata.labels[std::string(kPodTemplateHashLabel)] = hash;
    rs.metadata.labels = rs.spec.template_.metadata.labels;
    rs.spec.selector = r.d.spec.selector.value_or(api::meta::v1::LabelSelector{});
    rs.spec.selector->matchLabels[std::string(kPodTemplateHashLabel)] = hash;
    rs.spec.replicas = replicas;
    rs.spec.minReadySeconds = r.d.spec.minReadySeconds;
    copyAnnotations(r.d, rs);
    rs.metadata.annotations[std::string(kRevisionAnnotation)] =
        std::to_string(maxOldRevision(r) + 1);
    rs.metadata.ownerReferences.push_back(
        controllerRef(Deployment::kApiVersion, Deployment::kKind, r.d.metadata));
    try {
      r.newRS = client_.create(rs);
    } catch (const client::ApiError& e) {
      if (!e.isAlreadyExists()) throw;
      const auto existing = client_.get<ReplicaSet>(rs.metadata.namespace_, rs.metadata.name);
      if (isControlledBy(existing.metadata, r.d.metadata.uid) &&
          equalIgnoringHash(existing.spec.template_, r.d.spec.template_)) {
        r.newRS = existing;
        return;
      }
      // A hash collision: count it so the next name differs, and retry.
      Deployment copy = r.d;
      copy.status.collisionCount = collision.value_or(0) + 1;
      client_.updateStatus(copy);
      throw;
    }
    if (replicas > 0) recordScaling(r.d, r.newRS->metadata.name, 0, replicas);
    setCondition(r.d.status.conditions, "Progressing", "True", "NewReplicaSetCreated",
                 "Created new replica set \"" + r.newRS->metadata.name + "\"", now(), true);
  }

  // Sets a ReplicaSet's replicas (and the desired/max annotations); whether it changed.
  bool scale(const Deployment& d, ReplicaSet& rs, int32_t replicas) {
    ReplicaSet copy = rs;
    copy.spec.replicas = replicas;
    copyAnnotations(d, copy);
    if (copy.spec.replicas == rs.spec.replicas &&
        copy.metadata.annotations == rs.metadata.annotations) {
      return false;
    }
    const int32_t from = rs.spec.replicas.value_or(1);
    rs = client_.update(copy);
    if (from == replicas) return false;
    recordScaling(d, rs.metadata.name, from, replicas);
    return true;
  }

  // upstream's ScalingReplicaSet event on the Deployment, in its 1.32 words.
  void recordScaling(const Deployment& d, const std::string& set, int32_t from, int32_t to) {
    clusterRecordEvent(client_, "deployment-controller", clusterReferenceTo(d), "Normal",
                       "ScalingReplicaSet",
                       std::string("Scaled ") + (to > from ? "up" : "down") + " replica set " +
                           set + " from " + std::to_string(from) + " to " + std::to_string(to));
  }

  // A scaling event (or a paused Deployment): one active ReplicaSet (or none: the newest)
  // takes spec.replicas; a saturated new set lets the old ones go to zero; otherwise a
  // rolling update's sets are scaled proportionally.
  void scaleDeployment(Rollout& r) {
    const int32_t replicas = r.d.spec.replicas.value_or(1);
    std::vector<ReplicaSet*> active;
    for (auto& rs : r.old) {
      if (rs.spec.replicas.value_or(1) > 0) active.push_back(&rs);
    }
    if (r.newRS && r.newRS->spec.replicas.value_or(1) > 0) active.push_back(&*r.newRS);
    if (active.empty()) {
      if (r.newRS) {
        active.push_back(&*r.newRS);
      } else if (!r.old.empty()) {
        active.push_back(&*std::max_element(r.old.begin(), r.old.end(), olderFirst));
      }
    }
    if (active.size() == 1) {
      scale(r.d, *active.front(), replicas);
      return;
    }
    if (r.newRS && r.newRS->spec.replicas.value_or(1) == replicas &&
        r.newRS->status.availableReplicas == replicas) {
      for (auto* rs : active) {
        if (rs != &*r.newRS) scale(r.d, *rs, 0);
      }
      return;
    }
    if (r.d.spec.strategy.type == "Recreate") return;
    std::vector<ReplicaSet> sets;
    sets.reserve(active.size());
    for (const auto* rs : active) sets.push_back(*rs);
    for (const auto& [name, size] : proportionalSizes(r.d, sets)) {
      for (auto* rs : active) {
        if (rs->metadata.name == name) scale(r.d, *rs, size);
      }
    }
  }

  // ---- strategies ----
  void rolloutRolling(const std::string& key, Rollout& r) {
    syncNewSetRevision(r);
    const int32_t replicas = r.d.spec.replicas.value_or(1);
    const int32_t maxTotal = replicas + maxSurgeOf(r.d);
    if (!r.newRS) {
      const int32_t current = specReplicas(r.old);
      createNewSet(r, std::clamp(maxTotal - current, 0, replicas));
      return writeStatus(key, r);
    }
    // Scale the new ReplicaSet up (within the surge) or down.
    const int32_t newReplicas = r.newRS->spec.replicas.value_or(1);
    if (newReplicas > replicas) {
      scale(r.d, *r.newRS, replicas);
      return writeStatus(key, r);
    }
    if (newReplicas < replicas) {
      const int32_t current = specReplicas(r.all());
      const int32_t up = std::min(maxTotal - current, replicas - newReplicas);
      if (up > 0 && scale(r.d, *r.newRS, newReplicas + up)) return writeStatus(key, r);
    }
    if (scaleDownOld(r)) return writeStatus(key, r);
    if (deploymentComplete(r.d, calculateStatus(r.d, r.all(), &*r.newRS, now()))) cleanup(r);
    writeStatus(key, r);
  }

  // Upstream's reconcileOldReplicaSets: first unhealthy old pods, then healthy ones while
  // more than replicas - maxUnavailable stay available.
  bool scaleDownOld(Rollout& r) {
    if (specReplicas(r.old) == 0) return false;
    const int32_t minAvailable = r.d.spec.replicas.value_or(1) - maxUnavailableOf(r.d);
    const int32_t newUnavailable =
        r.newRS->spec.replicas.value_or(1) - r.newRS->status.availableReplicas;
    const int32_t maxScaledDown = specReplicas(r.all()) - minAvailable - newUnavailable;
    if (maxScaledDown <= 0) return false;
    std::sort(r.old.begin(), r.old.end(), olderFirst);
    int32_t total = 0;
    bool changed = false;
    for (auto& rs : r.old) {
      if (total >= maxScaledDown) break;
      const int32_t have = rs.spec.replicas.value_or(1);
      const int32_t unhealthy = have - rs.status.availableReplicas;
      if (have == 0 || unhealthy <= 0) continue;
      const int32_t down = std::min(maxScaledDown - total, unhealthy);
      changed |= scale(r.d, rs, have - down);
      total += down;
    }
    // A ReplicaSet just scaled down may not have written its status yet: never count more
    // available pods than it is meant to keep.
    int32_t available = 0;
    for (const auto& rs : r.all()) {
      available += std::min(rs.status.availableReplicas, rs.spec.replicas.value_or(1));
    }
    if (available <= minAvailable) return changed;
    const int32_t cap = available - minAvailable;
    total = 0;
    for (auto& rs : r.old) {
      if (total >= cap) break;
      const int32_t have = rs.spec.replicas.value_or(1);
      if (have == 0) continue;
      const int32_t down = std::min(have, cap - total);
      changed |= scale(r.d, rs, have - down);
      total += down;
    }
    return changed;
  }

  void rolloutRecreate(const std::string& key, Rollout& r) {
    syncNewSetRevision(r);
    bool scaledDown = false;
    for (auto& rs : r.old) {
      if (rs.spec.replicas.value_or(1) > 0) scaledDown |= scale(r.d, rs, 0);
    }
    if (scaledDown || oldPodsRunning(r)) return writeStatus(key, r);
    const int32_t replicas = r.d.spec.replicas.value_or(1);
    if (!r.newRS) {
      createNewSet(r, replicas);
      return writeStatus(key, r);
    }
    if (scale(r.d, *r.newRS, replicas)) return writeStatus(key, r);
    if (deploymentComplete(r.d, calculateStatus(r.d, r.all(), &*r.newRS, now()))) cleanup(r);
    writeStatus(key, r);
  }

  bool oldPodsRunning(const Rollout& r) const {
    for (const auto& rs : r.old) {
      if (rs.status.replicas > 0) return true;
      for (const auto& p : pods_.cache().byIndex("controller", rs.metadata.uid)) {
        if (p->status.phase != "Succeeded" && p->status.phase != "Failed") return true;
      }
    }
    return false;
  }

  // Deletes the oldest scaled-down ReplicaSets beyond revisionHistoryLimit.
  void cleanup(Rollout& r) {
    const int32_t limit = r.d.spec.revisionHistoryLimit.value_or(10);
    std::vector<const ReplicaSet*> cleanable;
    for (const auto& rs : r.old) {
      if (!rs.metadata.deletionTimestamp) cleanable.push_back(&rs);
    }
    const int diff = static_cast<int>(cleanable.size()) - limit;
    if (diff <= 0) return;
    std::sort(cleanable.begin(), cleanable.end(), [](const ReplicaSet* a, const ReplicaSet* b) {
      return revisionOf(a->metadata) < revisionOf(b->metadata);
    });
    for (int i = 0; i < diff; ++i) {
      const auto& rs = *cleanable[static_cast<std::size_t>(i)];
      if (rs.status.replicas != 0 || rs.spec.replicas.value_or(1) != 0 ||
          rs.metadata.generation > rs.status.observedGeneration) {
        continue;
      }
      try {
        client_.remove<ReplicaSet>(rs.metadata.namespace_, rs.metadata.name);
      } catch (const client::ApiError& e) {
        if (!e.isNotFound()) throw;
      }
    }
  }

  // The Deployment carries its new ReplicaSet's revision (kubectl rollout history/undo).
  void syncDeploymentRevision(Rollout& r) {
    if (!r.newRS) return;
    const auto it = r.newRS->metadata.annotations.find(std::string(kRevisionAnnotation));
    if (it == r.newRS->metadata.annotations.end()) return;
    auto& ann = r.d.metadata.annotations[std::string(kRevisionAnnotation)];
    if (ann == it->second) return;
    ann = it->second;
    const auto conditions = r.d.status.conditions;
    r.d = client_.update(r.d);
    r.d.status.conditions = conditions;
  }

  void writeStatus(const std::string& key, Rollout& r) {
    if (!r.d.metadata.deletionTimestamp) syncDeploymentRevision(r);
    const auto t = now();
    const ReplicaSet* newRS = r.newRS ? &*r.newRS : nullptr;
    auto next = calculateStatus(r.d, r.all(), newRS, t);
    std::optional<std::chrono::system_clock::time_point> recheck;
    if (!r.d.spec.paused && !r.d.metadata.deletionTimestamp) {
      // r.d.status still holds the counts last written: progress is judged against them.
      recheck = updateProgressing(r.d, next, newRS, t);
    }
    if (recheck) enqueueAfter(key, *recheck - t);
    const auto cached = deployments_.cache().getByKey(key);
    if (cached && cached->status == next) return;
    Deployment copy = r.d;
    copy.status = next;
    try {
      client_.updateStatus(copy);
    } catch (const client::ApiError& e) {
      if (!e.isNotFound()) throw;
    }
  }

  client::Informer<Deployment>& deployments_;
  client::Informer<ReplicaSet>& sets_;
  client::Informer<Pod>& pods_;
};

}  // namespace

std::unique_ptr<Controller> makeDeploymentController(
    client::Client& client, const std::shared_ptr<client::SharedInformers>& informers,
    const WorkloadControllerOptions& options) {
  return std::make_unique<DeploymentController>(client, informers, options);
}

}  // namespace kite::controlplane::controllers
