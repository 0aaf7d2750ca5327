#include "replicaset_controller.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "kite/api/apps/v1/types.h"
#include "kite/api/labels.h"
#include "kite/api/meta.h"
#include "workload_controller_base.h"
#include "workload_pods.h"

namespace kite::controlplane::controllers {
namespace {

using api::apps::v1::ReplicaSet;

// Upstream creates at most this many pods of one ReplicaSet per sync (a burst limit).
constexpr int kBurstReplicas = 500;

class ReplicaSetController final : public WorkloadControllerBase {
 public:
  ReplicaSetController(client::Client& client,
                       const std::shared_ptr<client::SharedInformers>& informers,
                       const WorkloadControllerOptions& options)
      : WorkloadControllerBase(client, options, informers),
        sets_(informers->get<ReplicaSet>()),
        pods_(informers->get<Pod>()) {
    own(sets_);
    own(pods_);
    pods_.addIndexer("controller", [](const Pod& p) {
      const auto* ref = api::controllerOf(p.metadata);
      return ref != nullptr ? std::vector<std::string>{ref->uid} : std::vector<std::string>{};
    });
    sets_.addEventHandler({
        .onAdd = [this](const ReplicaSet& rs) { enqueue(api::fullName(rs.metadata)); },
        .onUpdate = [this](const ReplicaSet&,
                           const ReplicaSet& rs) { enqueue(api::fullName(rs.metadata)); },
        .onDelete =
            [this](const ReplicaSet& rs) {
              expectations_.forget(api::fullName(rs.metadata));
              enqueue(api::fullName(rs.metadata));
            },
    });
    pods_.addEventHandler({
        .onAdd =
            [this](const Pod& p) {
              if (const auto key = ownerKey(p)) {
                expectations_.creationObserved(*key);
                enqueue(*key);
              } else {
                enqueueMatching(p);
              }
            },
        .onUpdate =
            [this](const Pod& old, const Pod& p) {
              const auto key = ownerKey(p);
              if (key && !old.metadata.deletionTimestamp && p.metadata.deletionTimestamp) {
                expectations_.deletionObserved(*key);
              }
              if (const auto oldKey = ownerKey(old); oldKey && oldKey != key) enqueue(*oldKey);
              if (key) {
                enqueue(*key);
              } else {
                enqueueMatching(p);
              }
            },
        .onDelete =
            [this](const Pod& p) {
              if (const auto key = ownerKey(p)) {
                if (!p.metadata.deletionTimestamp) expectations_.deletionObserved(*key);
                enqueue(*key);
              }
            },
    });
  }
  ~ReplicaSetController() override { stop(); }

  std::string name() const override { return "replicaset"; }

 private:
  static std::optional<std::string> ownerKey(const Pod& p) {
    const auto* ref = api::controllerOf(p.metadata);
    if (ref == nullptr || ref->kind != "ReplicaSet") return std::nullopt;
    return api::fullName(p.metadata.namespace_, ref->name);
  }

  void enqueueMatching(const Pod& p) {
    for (const auto& rs : sets_.cache().list(p.metadata.namespace_)) {
      if (api::labels::matches(rs->spec.selector, p.metadata.labels)) {
        enqueue(api::fullName(rs->metadata));
      }
    }
  }

  void sync(const std::string& key) override {
    const auto rs = sets_.cache().getByKey(key);
    if (!rs) return;
    const auto selector = api::labels::Selector::fromLabelSelector(
        rs->spec.selector.value_or(api::meta::v1::LabelSelector{}));
    std::vector<const Pod*> owned;
    std::vector<std::shared_ptr<const Pod>> keep;  // keeps the pointers valid
    for (const auto& p : pods_.cache().byIndex("controller", rs->metadata.uid)) {
      keep.push_back(p);
      if (isPodActive(*p)) owned.push_back(p.get());
    }
    if (!rs->metadata.deletionTimestamp) adoptOrphans(*rs, selector, owned, keep);

    const int32_t want = rs->spec.replicas.value_or(1);
    if (expectations_.satisfied(key) && !rs->metadata.deletionTimestamp) {
      const int diff = static_cast<int>(owned.size()) - want;
      if (diff < 0) createPods(key, *rs, std::min(-diff, kBurstReplicas));
      if (diff > 0) deletePods(key, rankPodsForDeletion(owned), diff);
    }
    updateStatus(key, *rs, keep);
  }

  void adoptOrphans(const ReplicaSet& rs, const api::labels::Selector& selector,
                    std::vector<const Pod*>& owned, std::vector<std::shared_ptr<const Pod>>& keep) {
    if (selector.matchesEverything()) return;  // never adopt with an empty selector
    for (const auto& p : pods_.cache().list(rs.metadata.namespace_, selector)) {
      if (api::controllerOf(p->metadata) != nullptr || !isPodActive(*p)) continue;
      Pod copy = *p;
      copy.metadata.ownerReferences.push_back(
          controllerRef(ReplicaSet::kApiVersion, ReplicaSet::kKind, rs.metadata));
      try {
        auto adopted = std::make_shared<const Pod>(client_.update(copy));
        keep.push_back(adopted);
        owned.push_back(adopted.get());
      } catch (const client::ApiError& e) {
        if (!e.isNotFound() && !e.isConflict()) throw;
      }
    }
  }

  void createPods(const std::string& key, const ReplicaSet& rs, int n) {
    expectations_.expectCreations(key, n);
    const auto owner = controllerRef(ReplicaSet::kApiVersion, ReplicaSet::kKind, rs.metadata);
    for (int i = 0; i < n; ++i) {
      try {
        client_.create(
            podFromTemplate(rs.spec.template_, rs.metadata.namespace_, rs.metadata.name, owner));
      } catch (...) {
        // The pods not created will not be observed.
        for (int j = i; j < n; ++j) expectations_.creationObserved(key);
        throw;
      }
    }
  }

  void deletePods(const std::string& key, const std::vector<const Pod*>& ranked, int n) {
    expectations_.expectDeletions(key, n);
    for (int i = 0; i < n; ++i) {
      const Pod& p = *ranked[static_cast<std::size_t>(i)];
      try {
        client_.remove<Pod>(p.metadata.namespace_, p.metadata.name);
      } catch (const client::ApiError& e) {
        expectations_.deletionObserved(key);
        if (!e.isNotFound()) throw;
      }
    }
  }

  void updateStatus(const std::string& key, const ReplicaSet& rs,
                    const std::vector<std::shared_ptr<const Pod>>& pods) {
    api::apps::v1::ReplicaSetStatus status = rs.status;
    status.replicas = status.fullyLabeledReplicas = status.readyReplicas =
        status.availableReplicas = 0;
    const auto t = now();
    std::optional<WallTime> nextAvailable;
    const auto templateLabels = api::labels::Selector::fromSet(rs.spec.template_.metadata.labels);
    for (const auto& p : pods) {
      if (!isPodActive(*p)) continue;
      ++status.replicas;
      if (templateLabels.matches(p->metadata.labels)) ++status.fullyLabeledReplicas;
      if (!isPodReady(*p)) continue;
      ++status.readyReplicas;
      if (isPodAvailable(*p, rs.spec.minReadySeconds, t)) {
        ++status.availableReplicas;
      } else if (const auto at = availableAt(*p, rs.spec.minReadySeconds)) {
        nextAvailable = nextAvailable ? std::min(*nextAvailable, *at) : *at;
      }
    }
    status.observedGeneration = rs.metadata.generation;
    if (nextAvailable) {
      enqueueAfter(key, *nextAvailable - t + std::chrono::milliseconds(100));
    }
    if (status == rs.status) return;
    ReplicaSet copy = rs;
    copy.status = status;
    try {
      client_.updateStatus(copy);
    } catch (const client::ApiError& e) {
      if (!e.isNotFound()) throw;
    }
  }

  client::Informer<ReplicaSet>& sets_;
  client::Informer<Pod>& pods_;
  Expectations expectations_;
};

}  // namespace

std::unique_ptr<Controller> makeReplicaSetController(
    client::Client& client, const std::shared_ptr<client::SharedInformers>& informers,
    const WorkloadControllerOptions& options) {
  return std::make_unique<ReplicaSetController>(client, informers, options);
}

}  // namespace kite::controlplane::controllers
