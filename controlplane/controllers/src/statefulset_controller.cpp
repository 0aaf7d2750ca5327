#include "statefulset_controller.h"

#include <algorithm>
#include <map>
#include <optional>
#include <set>

#include "controller_history_sync.h"
#include "kite/api/apps/v1/types.h"
#include "kite/api/labels.h"
#include "kite/api/meta.h"
#include "workload_controller_base.h"
#include "workload_pods.h"
#include "workload_rollout.h"

namespace kite::controlplane::controllers {
namespace {

using api::apps::v1::StatefulSet;
using api::core::v1::PersistentVolumeClaim;

// StatefulSet pods carry their revision's name (not only the hash) in this label.
constexpr std::string_view kRevisionLabel = kControllerRevisionHashLabel;

// What a pod is made from: a revision's template and name.
struct VersionedTemplate {
  api::core::v1::PodTemplateSpec tmpl;
  std::string revision;
};

// The ordinal of "<set>-<n>", or -1.
int ordinalOf(const std::string& set, const std::string& pod) {
  if (pod.size() <= set.size() + 1 || pod.compare(0, set.size(), set) != 0 ||
      pod[set.size()] != '-') {
    return -1;
  }
  int n = 0;
  for (std::size_t i = set.size() + 1; i < pod.size(); ++i) {
    if (pod[i] < '0' || pod[i] > '9' || n > 10'000'000) return -1;
    n = n * 10 + (pod[i] - '0');
  }
  return n;
}

class StatefulSetController final : public WorkloadControllerBase {
 public:
  StatefulSetController(client::Client& client,
                        const std::shared_ptr<client::SharedInformers>& informers,
                        const WorkloadControllerOptions& options)
      : WorkloadControllerBase(client, options, informers),
        sets_(informers->get<StatefulSet>()),
        pods_(informers->get<Pod>()),
        revisions_(informers->get<ControllerRevision>()) {
    own(sets_);
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
      if (ref != nullptr && ref->kind == "StatefulSet") {
        enqueue(api::fullName(r.metadata.namespace_, ref->name));
      } else if (ref == nullptr) {
        for (const auto& ss : sets_.cache().list(r.metadata.namespace_)) {
          if (api::labels::matches(ss->spec.selector, r.metadata.labels)) {
            enqueue(api::fullName(ss->metadata));
          }
        }
      }
    };
    revisions_.addEventHandler(
        {.onAdd = onRevision,
         .onUpdate = [=](const ControllerRevision&, const ControllerRevision& r) { onRevision(r); },
         .onDelete = onRevision});
    const auto onSet = [this](const StatefulSet& s) { enqueue(api::fullName(s.metadata)); };
    sets_.addEventHandler(
        {.onAdd = onSet, .onUpdate = [=](const StatefulSet&, const StatefulSet& s) { onSet(s); }});
    const auto onPod = [this](const Pod& p) {
      const auto* ref = api::controllerOf(p.metadata);
      if (ref != nullptr && ref->kind == "StatefulSet") {
        enqueue(api::fullName(p.metadata.namespace_, ref->name));
      }
    };
    pods_.addEventHandler({.onAdd = onPod,
                           .onUpdate = [=](const Pod&, const Pod& p) { onPod(p); },
                           .onDelete = onPod});
  }
  ~StatefulSetController() override { stop(); }

  std::string name() const override { return "statefulset"; }

 private:
  void sync(const std::string& key) override {
    const auto set = sets_.cache().getByKey(key);
    if (!set || set->metadata.deletionTimestamp) return;
    const StatefulSet& ss = *set;
    const int32_t replicas = ss.spec.replicas.value_or(1);
    const int32_t start = ss.spec.ordinals ? ss.spec.ordinals->start : 0;
    const bool parallel = ss.spec.podManagementPolicy == "Parallel";
    std::map<int, std::shared_ptr<const Pod>> pods;
    for (const auto& p : pods_.cache().byIndex("controller", ss.metadata.uid)) {
      const int ord = ordinalOf(ss.metadata.name, p->metadata.name);
      if (ord >= 0) pods[ord] = p;
    }
    const RevisionOwner owner{.apiVersion = StatefulSet::kApiVersion,
                              .kind = StatefulSet::kKind,
                              .meta = ss.metadata,
                              .tmpl = ss.spec.template_,
                              .collisionCount = ss.status.collisionCount,
                              .revisionHistoryLimit = ss.spec.revisionHistoryLimit};
    const auto revisions = claimRevisions(client_, owner, ss.spec.selector,
                                          revisions_.cache().list(ss.metadata.namespace_));
    const auto update = syncHistory(owner, ss, pods, revisions);
    if (!update) return;
    // The current revision is the one the status names while it still exists; pods below
    // the partition are made from it.
    VersionedTemplate updated{ss.spec.template_, update->metadata.name};
    VersionedTemplate current = updated;
    for (const auto& r : revisions) {
      if (r.metadata.name == ss.status.currentRevision && r.metadata.name != updated.revision) {
        try {
          current = {templateOf(r), r.metadata.name};
        } catch (const std::exception&) {
          // Unreadable data: the pods below the partition get the new template.
        }
      }
    }
    const auto t = now();
    api::apps::v1::StatefulSetStatus s = ss.status;
    s.replicas = s.readyReplicas = s.availableReplicas = s.currentReplicas = s.updatedReplicas = 0;
    for (const auto& [ord, p] : pods) {
      if (p->metadata.deletionTimestamp) continue;
      ++s.replicas;
      if (isPodReady(*p)) ++s.readyReplicas;
      if (isPodAvailable(*p, ss.spec.minReadySeconds, t)) ++s.availableReplicas;
      const auto it = p->metadata.labels.find(std::string(kRevisionLabel));
      if (it == p->metadata.labels.end()) continue;
      if (it->second == current.revision) ++s.currentReplicas;
      if (it->second == updated.revision) ++s.updatedReplicas;
    }
    s.observedGeneration = ss.metadata.generation;
    s.updateRevision = updated.revision;
    s.currentRevision = current.revision;
    manage(ss, pods, current, updated, start, replicas, parallel);
    // A finished rolling update: every pod is at the update revision and ready.
    if (ss.spec.updateStrategy.type != "OnDelete" && s.updatedReplicas == s.replicas &&
        s.readyReplicas == s.replicas) {
      s.currentRevision = s.updateRevision;
      s.currentReplicas = s.updatedReplicas;
    }
    if (s == ss.status) return;
    StatefulSet copy = ss;
    copy.status = s;
    client_.updateStatus(copy);
  }

  // The revision of the set's template (created, or renumbered after a rollback); old ones
  // beyond revisionHistoryLimit deleted unless a pod or the status still names them. On a
  // hash collision the status's collisionCount goes up and nullopt is returned.
  std::optional<ControllerRevision> syncHistory(
      const RevisionOwner& owner, const StatefulSet& ss,
      const std::map<int, std::shared_ptr<const Pod>>& pods,
      const std::vector<ControllerRevision>& revisions) {
    std::set<std::string> live{ss.status.currentRevision, ss.status.updateRevision};
    for (const auto& [ord, p] : pods) {
      const auto it = p->metadata.labels.find(std::string(kRevisionLabel));
      if (it != p->metadata.labels.end()) live.insert(it->second);
    }
    auto revision = syncRevisionHistory(client_, owner, ss.spec.selector, revisions, live);
    if (!revision) {
      StatefulSet copy = ss;
      copy.status.collisionCount = ss.status.collisionCount.value_or(0) + 1;
      client_.updateStatus(copy);
    }
    return revision;
  }

  // One step at a time in OrderedReady: create the lowest missing ordinal once every lower
  // one is Running and Ready; delete the highest surplus one; replace the highest outdated.
  void manage(const StatefulSet& ss, std::map<int, std::shared_ptr<const Pod>>& pods,
              const VersionedTemplate& current, const VersionedTemplate& updated, int32_t start,
              int32_t replicas, bool parallel) {
    int32_t partition = 0;
    if (ss.spec.updateStrategy.type != "OnDelete" && ss.spec.updateStrategy.rollingUpdate &&
        ss.spec.updateStrategy.rollingUpdate->partition) {
      partition = *ss.spec.updateStrategy.rollingUpdate->partition;
    }
    const std::string& revision = updated.revision;
    for (int ord = start; ord < start + replicas; ++ord) {
      const auto it = pods.find(ord);
      if (it == pods.end()) {
        // Below the partition a pod keeps (or is remade at) the current revision.
        createPod(ss, ord, ord < start + partition ? current : updated);
        if (!parallel) return;
        continue;
      }
      const Pod& p = *it->second;
      if (p.status.phase == "Failed" && !p.metadata.deletionTimestamp) {
        removePod(p);  // recreated with the same name on a later sync
        if (!parallel) return;
        continue;
      }
      if (!parallel && (p.metadata.deletionTimestamp || !isPodReady(p))) return;
    }
    // Scale down from the highest ordinal.
    for (auto it = pods.rbegin(); it != pods.rend(); ++it) {
      if (it->first >= start && it->first < start + replicas) continue;
      if (!it->second->metadata.deletionTimestamp) removePod(*it->second);
      if (!parallel) return;
    }
    if (ss.spec.updateStrategy.type == "OnDelete") return;
    for (int ord = start + replicas - 1; ord >= start + partition; --ord) {
      const auto it = pods.find(ord);
      if (it == pods.end()) return;
      const Pod& p = *it->second;
      const auto rev = p.metadata.labels.find(std::string(kRevisionLabel));
      if (rev != p.metadata.labels.end() && rev->second == revision) {
        if (!isPodReady(p)) return;  // wait for the updated pod before the next one
        continue;
      }
      if (!p.metadata.deletionTimestamp) removePod(p);
      return;
    }
  }

  std::string claimName(const PersistentVolumeClaim& tmpl, const StatefulSet& ss, int ord) const {
    return tmpl.metadata.name + "-" + ss.metadata.name + "-" + std::to_string(ord);
  }

  void createPod(const StatefulSet& ss, int ord, const VersionedTemplate& from) {
    const std::string name = ss.metadata.name + "-" + std::to_string(ord);
    for (const auto& tmpl : ss.spec.volumeClaimTemplates) ensureClaim(ss, tmpl, ord);
    Pod pod =
        podFromTemplate(from.tmpl, ss.metadata.namespace_, ss.metadata.name,
                        controllerRef(StatefulSet::kApiVersion, StatefulSet::kKind, ss.metadata));
    pod.metadata.generateName.clear();
    pod.metadata.name = name;
    pod.metadata.labels[std::string(kRevisionLabel)] = from.revision;
    pod.metadata.labels["statefulset.kubernetes.io/pod-name"] = name;
    pod.metadata.labels["apps.kubernetes.io/pod-index"] = std::to_string(ord);
    pod.spec.hostname = name;
    pod.spec.subdomain = ss.spec.serviceName;
    for (const auto& tmpl : ss.spec.volumeClaimTemplates) {
      auto& volumes = pod.spec.volumes;
      std::erase_if(volumes, [&](const auto& v) { return v.name == tmpl.metadata.name; });
      api::core::v1::Volume v;
      v.name = tmpl.metadata.name;
      v.persistentVolumeClaim.emplace().claimName = claimName(tmpl, ss, ord);
      volumes.push_back(v);
    }
    try {
      client_.create(pod);
    } catch (const client::ApiError& e) {
      if (!e.isAlreadyExists()) throw;  // the cache lags: it exists
    }
  }

  void ensureClaim(const StatefulSet& ss, const PersistentVolumeClaim& tmpl, int ord) {
    PersistentVolumeClaim pvc;
    pvc.metadata.name = claimName(tmpl, ss, ord);
    pvc.metadata.namespace_ = ss.metadata.namespace_;
    pvc.metadata.labels = tmpl.metadata.labels;
    if (ss.spec.selector) {
      for (const auto& [k, v] : ss.spec.selector->matchLabels) pvc.metadata.labels[k] = v;
    }
    pvc.metadata.annotations = tmpl.metadata.annotations;
    pvc.spec = tmpl.spec;
    try {
      client_.create(pvc);
    } catch (const client::ApiError& e) {
      if (!e.isAlreadyExists()) throw;  // claims outlive their pods: reuse it
    }
  }

  void removePod(const Pod& p) {
    try {
      client_.remove<Pod>(p.metadata.namespace_, p.metadata.name);
    } catch (const client::ApiError& e) {
      if (!e.isNotFound()) throw;
    }
  }

  client::Informer<StatefulSet>& sets_;
  client::Informer<Pod>& pods_;
  client::Informer<ControllerRevision>& revisions_;
};

}  // namespace

std::unique_ptr<Controller> makeStatefulSetController(
    client::Client& client, const std::shared_ptr<client::SharedInformers>& informers,
    const WorkloadControllerOptions& options) {
  return std::make_unique<StatefulSetController>(client, informers, options);
}

}  // namespace kite::controlplane::controllers
