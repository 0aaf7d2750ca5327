#include "daemonset_controller.h"

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <utility>
#include <vector>

#include "controller_history_sync.h"
#include "kite/api/apps/v1/types.h"
#include "kite/api/labels.h"
#include "kite/api/meta.h"
#include "workload_controller_base.h"
#include "workload_pods.h"
#include "workload_rollout.h"

namespace kite::controlplane::controllers {
namespace {

using api::apps::v1::DaemonSet;
using api::core::v1::Node;

constexpr std::string_view kRevisionHashLabel = kControllerRevisionHashLabel;
// Where upstream's API server keeps a DaemonSet's template generation (apps/v1 has no field).
constexpr std::string_view kTemplateGenerationAnnotation =
    "deprecated.daemonset.template.generation";

// The generation pods record in pod-template-generation: the annotation when the API server
// sets it, else metadata.generation (which also moves only with spec changes).
std::string templateGeneration(const DaemonSet& ds) {
  const auto it = ds.metadata.annotations.find(std::string(kTemplateGenerationAnnotation));
  if (it != ds.metadata.annotations.end()) return it->second;
  return std::to_string(ds.metadata.generation);
}

// The taints upstream's DaemonSet pods tolerate by default.
bool toleratedByDefault(const api::core::v1::Taint& t) {
  return t.key == "node.kubernetes.io/not-ready" || t.key == "node.kubernetes.io/unreachable" ||
         t.key == "node.kubernetes.io/disk-pressure" ||
         t.key == "node.kubernetes.io/memory-pressure" ||
         t.key == "node.kubernetes.io/pid-pressure" || t.key == "node.kubernetes.io/unschedulable";
}

// Upstream's AddOrUpdateDaemonPodTolerations: daemon pods stay on a node with problems (no
// tolerationSeconds, so the node lifecycle controller never evicts them for not-ready or
// unreachable) and may land on cordoned or pressured nodes. An equal toleration of the
// template (same key, operator, value, effect) is replaced, e.g. one with a time limit.
void addDaemonTolerations(api::core::v1::PodSpec& spec) {
  std::vector<std::pair<std::string_view, std::string_view>> wanted = {
      {"node.kubernetes.io/not-ready", "NoExecute"},
      {"node.kubernetes.io/unreachable", "NoExecute"},
      {"node.kubernetes.io/disk-pressure", "NoSchedule"},
      {"node.kubernetes.io/memory-pressure", "NoSchedule"},
      {"node.kubernetes.io/pid-pressure", "NoSchedule"},
      {"node.kubernetes.io/unschedulable", "NoSchedule"}};
  if (spec.hostNetwork) wanted.emplace_back("node.kubernetes.io/network-unavailable", "NoSchedule");
  for (const auto& [key, effect] : wanted) {
    api::core::v1::Toleration t;
    t.key = std::string(key);
    t.operator_ = "Exists";
    t.effect = std::string(effect);
    auto& tols = spec.tolerations;
    const auto same = std::find_if(tols.begin(), tols.end(), [&](const auto& old) {
      return old.key == t.key && old.operator_ == t.operator_ && old.value.empty() &&
             old.effect == t.effect;
    });
    if (same != tols.end()) {
      *same = t;
    } else {
      tols.push_back(t);
    }
  }
}

bool tolerates(const api::core::v1::Toleration& tol, const api::core::v1::Taint& t) {
  if (!tol.effect.empty() && tol.effect != t.effect) return false;
  if (tol.operator_ == "Exists") return tol.key.empty() || tol.key == t.key;
  return tol.key == t.key && tol.value == t.value;
}

bool eligible(const DaemonSet& ds, const Node& node) {
  for (const auto& [k, v] : ds.spec.template_.spec.nodeSelector) {
    const auto it = node.metadata.labels.find(k);
    if (it == node.metadata.labels.end() || it->second != v) return false;
  }
  for (const auto& taint : node.spec.taints) {
    if (taint.effect != "NoSchedule" && taint.effect != "NoExecute") continue;
    if (toleratedByDefault(taint)) continue;
    const auto& tols = ds.spec.template_.spec.tolerations;
    if (std::none_of(tols.begin(), tols.end(),
                     [&](const auto& tol) { return tolerates(tol, taint); })) {
      return false;
    }
  }
  return true;
}

class DaemonSetController final : public WorkloadControllerBase {
 public:
  DaemonSetController(client::Client& client,
                      const std::shared_ptr<client::SharedInformers>& informers,
                      const WorkloadControllerOptions& options)
      : WorkloadControllerBase(client, options, informers),
        sets_(informers->get<DaemonSet>()),
        nodes_(informers->get<Node>()),
        pods_(informers->get<Pod>()),
        revisions_(informers->get<ControllerRevision>()) {
    own(sets_);
    own(nodes_);
    own(pods_);
    own(revisions_);
    pods_.addIndexer("controller", [](const Pod& p) {
      const auto* ref = api::controllerOf(p.metadata);
      return ref != nullptr ? std::vector<std::string>{ref->uid} : std::vector<std::string>{};
    });
    // A revision changed or deleted by someone else is put right by the next sync; an orphan
    // goes to the sets whose selector it matches, to be adopted.
    const auto onRevision = [this](const ControllerRevision& r) {
      const auto* ref = api::controllerOf(r.metadata);
      if (ref != nullptr && ref->kind == "DaemonSet") {
        enqueue(api::fullName(r.metadata.namespace_, ref->name));
      } else if (ref == nullptr) {
        for (const auto& ds : sets_.cache().list(r.metadata.namespace_)) {
          if (api::labels::matches(ds->spec.selector, r.metadata.labels)) {
            enqueue(api::fullName(ds->metadata));
          }
        }
      }
    };
    revisions_.addEventHandler(
        {.onAdd = onRevision,
         .onUpdate = [=](const ControllerRevision&, const ControllerRevision& r) { onRevision(r); },
         .onDelete = onRevision});
    const auto onSet = [this](const DaemonSet& ds) { enqueue(api::fullName(ds.metadata)); };
    sets_.addEventHandler(
        {.onAdd = onSet, .onUpdate = [=](const DaemonSet&, const DaemonSet& ds) { onSet(ds); }});
    const auto onNode = [this](const Node&) {
      for (const auto& ds : sets_.cache().list()) enqueue(api::fullName(ds->metadata));
    };
    nodes_.addEventHandler({.onAdd = onNode,
                            .onUpdate =
                                [=](const Node& a, const Node& b) {
                                  if (a.metadata.labels != b.metadata.labels ||
                                      a.spec.taints != b.spec.taints) {
                                    onNode(b);
                                  }
                                },
                            .onDelete = onNode});
    const auto onPod = [this](const Pod& p) {
      const auto* ref = api::controllerOf(p.metadata);
      if (ref != nullptr && ref->kind == "DaemonSet") {
        enqueue(api::fullName(p.metadata.namespace_, ref->name));
      }
    };
    pods_.addEventHandler({.onAdd =
                               [=, this](const Pod& p) {
                                 const auto* ref = api::controllerOf(p.metadata);
                                 if (ref != nullptr && ref->kind == "DaemonSet") {
                                   expectations_.creationObserved(
                                       api::fullName(p.metadata.namespace_, ref->name));
                                 }
                                 onPod(p);
                               },
                           .onUpdate = [=](const Pod&, const Pod& p) { onPod(p); },
                           .onDelete = onPod});
  }
  ~DaemonSetController() override { stop(); }

  std::string name() const override { return "daemonset"; }

 private:
  void sync(const std::string& key) override {
    const auto ds = sets_.cache().getByKey(key);
    if (!ds || ds->metadata.deletionTimestamp) return;
    // Pods created by the last sync not yet seen: wait for them rather than create twice.
    const bool canCreate = expectations_.satisfied(key);
    const auto owned = pods_.cache().byIndex("controller", ds->metadata.uid);
    const auto current = syncHistory(*ds, owned);
    if (!current) return;
    const std::string& hash = current->metadata.labels.at(std::string(kRevisionHashLabel));
    std::map<std::string, std::vector<std::shared_ptr<const Pod>>> byNode;
    for (const auto& p : owned) {
      if (p->status.phase == "Failed" && !p->metadata.deletionTimestamp) {
        removePod(*p);  // a failed daemon pod is replaced
        continue;
      }
      if (isPodActive(*p)) byNode[p->spec.nodeName].push_back(p);
    }
    api::apps::v1::DaemonSetStatus s = ds->status;
    s.desiredNumberScheduled = s.currentNumberScheduled = s.numberMisscheduled = 0;
    s.numberReady = s.numberAvailable = s.updatedNumberScheduled = 0;
    const auto t = now();
    std::vector<const Pod*> outdated;
    for (const auto& node : nodes_.cache().list()) {
      const auto& name = node->metadata.name;
      auto& pods = byNode[name];
      if (!eligible(*ds, *node)) {
        s.numberMisscheduled += pods.empty() ? 0 : 1;
        for (const auto& p : pods) removePod(*p);
        continue;
      }
      ++s.desiredNumberScheduled;
      if (pods.empty()) {
        if (canCreate) createPod(key, *ds, name, hash);
        continue;
      }
      ++s.currentNumberScheduled;
      for (std::size_t i = 1; i < pods.size(); ++i) removePod(*pods[i]);  // one a node
      const Pod& p = *pods.front();
      const bool updated = p.metadata.labels.contains(std::string(kRevisionHashLabel)) &&
                           p.metadata.labels.at(std::string(kRevisionHashLabel)) == hash;
      if (updated) ++s.updatedNumberScheduled;
      if (isPodReady(p)) ++s.numberReady;
      if (isPodAvailable(p, ds->spec.minReadySeconds, t)) {
        ++s.numberAvailable;
      }
      if (!updated) outdated.push_back(&p);
    }
    s.numberUnavailable = s.desiredNumberScheduled - s.numberAvailable;
    s.observedGeneration = ds->metadata.generation;
    rollOutdated(*ds, outdated, s);
    if (s == ds->status) return;
    DaemonSet copy = *ds;
    copy.status = s;
    client_.updateStatus(copy);
  }

  // The revision of the current template (created, or renumbered after a rollback), old ones
  // beyond revisionHistoryLimit deleted unless pods still use them. On a hash collision the
  // status's collisionCount goes up (which changes the hash) and nullopt is returned.
  std::optional<ControllerRevision> syncHistory(
      const DaemonSet& ds, const std::vector<std::shared_ptr<const Pod>>& pods) {
    std::set<std::string> live;
    for (const auto& p : pods) {
      const auto it = p->metadata.labels.find(std::string(kRevisionHashLabel));
      if (it != p->metadata.labels.end()) live.insert(revisionName(ds.metadata.name, it->second));
    }
    const RevisionOwner owner{.apiVersion = DaemonSet::kApiVersion,
                              .kind = DaemonSet::kKind,
                              .meta = ds.metadata,
                              .tmpl = ds.spec.template_,
                              .collisionCount = ds.status.collisionCount,
                              .revisionHistoryLimit = ds.spec.revisionHistoryLimit};
    auto revisions = claimRevisions(client_, owner, ds.spec.selector,
                                    revisions_.cache().list(ds.metadata.namespace_));
    auto current =
        syncRevisionHistory(client_, owner, ds.spec.selector, std::move(revisions), live);
    if (!current) {
      DaemonSet copy = ds;
      copy.status.collisionCount = ds.status.collisionCount.value_or(0) + 1;
      client_.updateStatus(copy);
      return std::nullopt;
    }
    if (!current->metadata.labels.contains(std::string(kRevisionHashLabel))) {
      current->metadata.labels[std::string(kRevisionHashLabel)] =
          revisionHash(current->data, ds.status.collisionCount);
    }
    return current;
  }

  // RollingUpdate: outdated pods are deleted (and recreated from the new template) while no
  // more than maxUnavailable daemon pods are unavailable; not-ready ones go first.
  void rollOutdated(const DaemonSet& ds, const std::vector<const Pod*>& outdated,
                    const api::apps::v1::DaemonSetStatus& s) {
    if (outdated.empty() || ds.spec.updateStrategy.type == "OnDelete") return;
    api::IntOrString maxUnavailable(1);
    if (ds.spec.updateStrategy.rollingUpdate &&
        ds.spec.updateStrategy.rollingUpdate->maxUnavailable) {
      maxUnavailable = *ds.spec.updateStrategy.rollingUpdate->maxUnavailable;
    }
    const int32_t allowed =
        std::max(1, scaledValue(maxUnavailable, s.desiredNumberScheduled, true,
                                "spec.updateStrategy.rollingUpdate.maxUnavailable")) -
        s.numberUnavailable;
    const auto t = now();
    int32_t budget = allowed;
    for (const auto* p : rankPodsForDeletion(outdated)) {
      // An unavailable pod costs nothing to replace; an available one uses the budget.
      const bool available = isPodAvailable(*p, ds.spec.minReadySeconds, t);
      if (!available || budget-- > 0) removePod(*p);
    }
  }

  void createPod(const std::string& key, const DaemonSet& ds, const std::string& node,
                 const std::string& hash) {
    Pod pod = podFromTemplate(ds.spec.template_, ds.metadata.namespace_, ds.metadata.name,
                              controllerRef(DaemonSet::kApiVersion, DaemonSet::kKind, ds.metadata));
    pod.metadata.labels[std::string(kRevisionHashLabel)] = hash;
    pod.metadata.labels[std::string(kPodTemplateGenerationLabel)] = templateGeneration(ds);
    pod.spec.nodeName = node;
    addDaemonTolerations(pod.spec);
    expectations_.expectCreations(key, 1);
    try {
      client_.create(pod);
    } catch (...) {
      expectations_.creationObserved(key);
      throw;
    }
  }

  void removePod(const Pod& p) {
    try {
      client_.remove<Pod>(p.metadata.namespace_, p.metadata.name);
    } catch (const client::ApiError& e) {
      if (!e.isNotFound()) throw;
    }
  }

  client::Informer<DaemonSet>& sets_;
  client::Informer<Node>& nodes_;
  client::Informer<Pod>& pods_;
  client::Informer<ControllerRevision>& revisions_;
  Expectations expectations_;
};

}  // namespace

std::unique_ptr<Controller> makeDaemonSetController(
    client::Client& client, const std::shared_ptr<client::SharedInformers>& informers,
    const WorkloadControllerOptions& options) {
  return std::make_unique<DaemonSetController>(client, informers, options);
}

}  // namespace kite::controlplane::controllers
