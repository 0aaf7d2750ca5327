#include "garbage_collector.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>

#include "kite/api/json.h"
#include "kite/api/meta.h"
#include "workload_controller_base.h"

namespace kite::controlplane::controllers {
namespace {

using api::meta::v1::OwnerReference;

constexpr std::string_view kOrphanFinalizer = "orphan";
constexpr std::string_view kForegroundFinalizer = "foregroundDeletion";

// The kinds whose objects may have owners (apiVersion, kind); kinds the server does not serve
// are skipped.
constexpr std::pair<std::string_view, std::string_view> kWatchedKinds[] = {
    {"v1", "Pod"},
    {"v1", "Service"},
    {"v1", "ConfigMap"},
    {"v1", "Secret"},
    {"v1", "PersistentVolumeClaim"},
    {"v1", "ServiceAccount"},
    {"v1", "Endpoints"},
    {"apps/v1", "Deployment"},
    {"apps/v1", "ReplicaSet"},
    {"apps/v1", "DaemonSet"},
    {"apps/v1", "StatefulSet"},
    {"apps/v1", "ControllerRevision"},
    {"batch/v1", "Job"},
    {"batch/v1", "CronJob"},
    {"discovery.k8s.io/v1", "EndpointSlice"},
    {"coordination.k8s.io/v1", "Lease"},
};

// What the collector knows of one object.
struct Node {
  client::ResourceRef ref;
  std::string ns;
  std::string name;
  std::string uid;
  std::vector<OwnerReference> owners;
  std::vector<std::string> finalizers;
  bool deleting = false;

  bool has(std::string_view finalizer) const {
    return std::find(finalizers.begin(), finalizers.end(), finalizer) != finalizers.end();
  }
};

std::string quote(std::string_view s) {
  std::string out = "\"";
  for (const char c : s) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out + "\"";
}

class GarbageCollector;

// A list-watch of one kind's metadata, feeding the collector's graph.
class MetadataInformer final : public client::InformerBase {
 public:
  MetadataInformer(client::Client& c, client::ResourceRef ref, GarbageCollector& gc)
      : InformerBase(c, ref, {}, {}), ref_(std::move(ref)), gc_(gc) {}
  ~MetadataInformer() override { stop(); }

  const client::ResourceRef& resource() const { return ref_; }

 protected:
  void replace(const std::vector<std::string>& items) override;
  std::string apply(client::EventType type, const std::string& object) override;
  void resync() override {}

 private:
  Node decode(const std::string& json) const;

  client::ResourceRef ref_;
  GarbageCollector& gc_;
  std::set<std::string> uids_;  // this kind's objects, to find the vanished ones on re-lists
};

class GarbageCollector final : public WorkloadControllerBase {
 public:
  GarbageCollector(client::Client& client, const WorkloadControllerOptions& options)
      : WorkloadControllerBase(client, options) {
    for (const auto& [apiVersion, kind] : kWatchedKinds) {
      try {
        informers_.push_back(std::make_unique<MetadataInformer>(
            client, client::resourceFor(apiVersion, kind), *this));
        own(*informers_.back());
      } catch (const std::invalid_argument&) {
        // Not served by this API server.
      }
    }
  }
  ~GarbageCollector() override { stop(); }

  std::string name() const override { return "garbagecollector"; }

  void upsert(Node node) {
    std::vector<std::string> wake;
    {
      std::lock_guard lock(mutex_);
      const auto it = nodes_.find(node.uid);
      const bool changed = it == nodes_.end() || it->second.owners != node.owners ||
                           it->second.deleting != node.deleting ||
                           it->second.finalizers != node.finalizers;
      if (!changed) return;
      if (it != nodes_.end()) unlinkLocked(it->second);
      for (const auto& o : node.owners) dependents_[o.uid].insert(node.uid);
      if (!node.owners.empty() || node.has(kOrphanFinalizer) || node.has(kForegroundFinalizer)) {
        wake.push_back(node.uid);
      }
      for (const auto& o : node.owners) wake.push_back(o.uid);  // foreground owners re-check
      nodes_[node.uid] = std::move(node);
    }
    for (const auto& uid : wake) enqueue(uid);
  }

  void erase(const std::string& uid) {
    std::vector<std::string> wake;
    {
      std::lock_guard lock(mutex_);
      const auto it = nodes_.find(uid);
      if (it == nodes_.end()) return;
      for (const auto& o : it->second.owners) wake.push_back(o.uid);
      unlinkLocked(it->second);
      nodes_.erase(it);
      if (const auto d = dependents_.find(uid); d != dependents_.end()) {
        wake.insert(wake.end(), d->second.begin(), d->second.end());
      }
    }
    for (const auto& u : wake) enqueue(u);
  }

 private:
  void unlinkLocked(const Node& n) {
    for (const auto& o : n.owners) {
      auto d = dependents_.find(o.uid);
      if (d == dependents_.end()) continue;
      d->second.erase(n.uid);
      if (d->second.empty()) dependents_.erase(d);
    }
  }

  std::optional<Node> node(const std::string& uid) const {
    std::lock_guard lock(mutex_);
    const auto it = nodes_.find(uid);
    if (it == nodes_.end()) return std::nullopt;
    return it->second;
  }
  std::vector<Node> dependentsOf(const std::string& uid) const {
    std::lock_guard lock(mutex_);
    std::vector<Node> out;
    const auto d = dependents_.find(uid);
    if (d == dependents_.end()) return out;
    for (const auto& u : d->second) {
      if (const auto it = nodes_.find(u); it != nodes_.end()) out.push_back(it->second);
    }
    return out;
  }

  void sync(const std::string& uid) override {
    const auto n = node(uid);
    if (!n) return;
    if (n->deleting && n->has(kOrphanFinalizer)) return orphanDependents(*n);
    if (n->deleting && n->has(kForegroundFinalizer)) return deleteDependentsFirst(*n);
    if (n->deleting || n->owners.empty()) return;
    collectIfOrphaned(*n);
  }

  enum class OwnerState { Solid, Absent, WaitingForDependents };

  // Whether the owner exists with that uid: the graph first, else a live read (the graph may
  // lag behind, or not watch the owner's kind).
  OwnerState ownerState(const Node& dependent, const OwnerReference& owner) {
    if (const auto n = node(owner.uid)) {
      return n->deleting && n->has(kForegroundFinalizer) ? OwnerState::WaitingForDependents
                                                         : OwnerState::Solid;
    }
    client::ResourceRef ref;
    try {
      ref = client::resourceFor(owner.apiVersion, owner.kind);
    } catch (const std::invalid_argument&) {
      return OwnerState::Solid;  // a kind we cannot look up is never assumed gone
    }
    try {
      const auto body = client_.getRaw(ref.path(ref.namespaced ? dependent.ns : "", owner.name));
      const auto meta = api::decodeJson<api::meta::v1::PartialObjectMetadata>(body).metadata;
      if (meta.uid != owner.uid) return OwnerState::Absent;
      return meta.deletionTimestamp && api::hasFinalizer(meta, kForegroundFinalizer)
                 ? OwnerState::WaitingForDependents
                 : OwnerState::Solid;
    } catch (const client::ApiError& e) {
      if (e.isNotFound()) return OwnerState::Absent;
      throw;
    }
  }

  // What the owners' states ask of a dependent.
  struct OwnersVerdict {
    std::vector<OwnerReference> solid;  // owners that exist
    bool absent = false;                // an owner is gone
    bool waiting = false;               // an owner is being deleted in the foreground
    bool actionNeeded() const { return absent || waiting; }
  };

  OwnersVerdict judgeOwners(const Node& n) {
    OwnersVerdict v;
    for (const auto& o : n.owners) {
      switch (ownerState(n, o)) {
        case OwnerState::Solid:
          v.solid.push_back(o);
          break;
        case OwnerState::Absent:
          v.absent = true;
          break;
        case OwnerState::WaitingForDependents:
          v.waiting = true;
          break;
      }
    }
    return v;
  }

  void collectIfOrphaned(const Node& graphCopy) {
    if (!judgeOwners(graphCopy).actionNeeded()) return;
    // Act on the dependent as the API server has it: the graph's copy can be older than an
    // orphaning that already dropped the reference (its owner then gone), and collecting
    // that copy would delete an orphan.
    const auto live = liveCopy(graphCopy);
    if (!live || live->deleting) return;
    const auto verdict = judgeOwners(*live);
    if (!verdict.actionNeeded()) return;
    if (!verdict.solid.empty()) {
      // Still owned: only drop the references to owners that are gone or going.
      setOwners(*live, verdict.solid);
      return;
    }
    // Upstream: a dependent of an owner deleted in the foreground goes in the foreground too.
    remove(*live, verdict.waiting ? "Foreground" : "Background");
  }

  // The dependent read from the API server with its current owners; nothing when it is gone
  // or its name now belongs to another object.
  std::optional<Node> liveCopy(const Node& n) {
    try {
      const auto body = client_.getRaw(n.ref.path(n.ns, n.name));
      auto meta = api::decodeJson<api::meta::v1::PartialObjectMetadata>(body).metadata;
      if (meta.uid != n.uid) return std::nullopt;
      Node live = n;
      live.owners = std::move(meta.ownerReferences);
      live.finalizers = std::move(meta.finalizers);
      live.deleting = meta.deletionTimestamp.has_value();
      return live;
    } catch (const client::ApiError& e) {
      if (e.isNotFound()) return std::nullopt;
      throw;
    }
  }

  void orphanDependents(const Node& owner) {
    // From the API server, not the graph: the graph's dependents come from other watches than
    // the owner's deletion, which can run behind it on a busy machine, and a dependent the
    // graph has not seen yet would keep its reference, lose its owner and be collected instead
    // of orphaned. The live copies also carry the current owner lists to keep.
    forEachLiveDependent(owner, [&](const Node& d, bool /*blocks*/) { dropOwner(d, owner.uid); });
    removeFinalizer(owner, kOrphanFinalizer);
  }

  void dropOwner(const Node& dependent, const std::string& ownerUid) {
    std::vector<OwnerReference> kept;
    for (const auto& o : dependent.owners) {
      if (o.uid != ownerUid) kept.push_back(o);
    }
    setOwners(dependent, kept);
  }

  void deleteDependentsFirst(const Node& owner) {
    bool blocked = false;
    for (const auto& d : dependentsOf(owner.uid)) {
      bool blocks = false;
      for (const auto& o : d.owners) {
        if (o.uid == owner.uid && o.blockOwnerDeletion.value_or(false)) blocks = true;
      }
      if (!d.deleting) remove(d, blocks ? "Foreground" : "Background");
      blocked |= blocks;
    }
    if (blocked) return;
    // The graph's dependents come from other watches than the owner's, which can run behind
    // it on a busy machine: one the graph has not seen yet would outlive its owner. The API
    // server has the last word before the owner goes.
    if (deleteLiveBlockingDependents(owner)) {
      enqueueAfter(owner.uid, kForegroundRecheck);
      return;
    }
    removeFinalizer(owner, kForegroundFinalizer);
  }

  // Deletes (foreground) the live dependents that block the owner's deletion; true if any
  // still exists.
  bool deleteLiveBlockingDependents(const Node& owner) {
    bool found = false;
    forEachLiveDependent(owner, [&](const Node& d, bool blocks) {
      if (!blocks) return;
      found = true;
      if (!d.deleting) remove(d, "Foreground");
    });
    return found;
  }

  // Lists, from the API server, every watched kind where the owner's dependents can live, and
  // calls visit(dependent, blocksOwnerDeletion) for each object that references the owner.
  void forEachLiveDependent(const Node& owner,
                            const std::function<void(const Node&, bool)>& visit) {
    const bool ownerNamespaced = !owner.ns.empty();
    for (const auto& informer : informers_) {
      const auto& ref = informer->resource();
      // A namespaced owner has dependents only in its namespace; a cluster-scoped one anywhere.
      if (ownerNamespaced && !ref.namespaced) continue;
      for (const auto& json : client_.listAllRaw(ref, owner.ns, {}).items) {
        auto meta = api::decodeJson<api::meta::v1::PartialObjectMetadata>(json).metadata;
        bool references = false;
        bool blocks = false;
        for (const auto& o : meta.ownerReferences) {
          if (o.uid != owner.uid) continue;
          references = true;
          blocks |= o.blockOwnerDeletion.value_or(false);
        }
        if (!references) continue;
        Node dependent;
        dependent.ref = ref;
        dependent.ns = meta.namespace_;
        dependent.name = meta.name;
        dependent.uid = meta.uid;
        dependent.deleting = meta.deletionTimestamp.has_value();
        dependent.owners = std::move(meta.ownerReferences);
        visit(dependent, blocks);
      }
    }
  }

  void remove(const Node& n, std::string_view policy) {
    api::meta::v1::DeleteOptions options;
    options.propagationPolicy = std::string(policy);
    options.preconditions.emplace().uid = n.uid;
    try {
      client_.writeRaw("DELETE", n.ref, n.ns, n.name, {}, api::encodeJson(options),
                       "application/json", {});
      spdlog::debug("garbagecollector: deleted {} {}/{} ({})", n.ref.kind, n.ns, n.name, policy);
    } catch (const client::ApiError& e) {
      if (!e.isNotFound() && !e.isConflict()) throw;
    }
  }

  void setOwners(const Node& n, const std::vector<OwnerReference>& owners) {
    std::string list;
    for (const auto& o : owners) list += (list.empty() ? "" : ",") + api::encodeJson(o);
    // The uid in a merge patch is a precondition: a new object of the same name is left alone.
    const std::string body =
        R"({"metadata":{"uid":)" + quote(n.uid) + R"(,"ownerReferences":[)" + list + "]}}";
    patch(n, body);
  }

  void removeFinalizer(const Node& n, std::string_view finalizer) {
    std::string list;
    for (const auto& f : n.finalizers) {
      if (f != finalizer) list += (list.empty() ? "" : ",") + quote(f);
    }
    patch(n, R"({"metadata":{"uid":)" + quote(n.uid) + R"(,"finalizers":[)" + list + "]}}");
  }

  void patch(const Node& n, const std::string& body) {
    try {
      client_.writeRaw("PATCH", n.ref, n.ns, n.name, {}, body, "application/merge-patch+json", {});
    } catch (const client::ApiError& e) {
      if (!e.isNotFound()) throw;
    }
  }

  // How soon an owner whose dependents the graph had missed is checked again.
  static constexpr std::chrono::milliseconds kForegroundRecheck{200};
  mutable std::mutex mutex_;
  std::map<std::string, Node> nodes_;                        // by uid
  std::map<std::string, std::set<std::string>> dependents_;  // owner uid -> dependent uids
  std::vector<std::unique_ptr<MetadataInformer>> informers_;
};

Node MetadataInformer::decode(const std::string& json) const {
  const auto meta = api::decodeJson<api::meta::v1::PartialObjectMetadata>(json).metadata;
  Node n;
  n.ref = ref_;
  n.ns = meta.namespace_;
  n.name = meta.name;
  n.uid = meta.uid;
  n.owners = meta.ownerReferences;
  n.finalizers = meta.finalizers;
  n.deleting = meta.deletionTimestamp.has_value();
  return n;
}

void MetadataInformer::replace(const std::vector<std::string>& items) {
  std::set<std::string> seen;
  for (const auto& json : items) {
    Node n = decode(json);
    seen.insert(n.uid);
    gc_.upsert(std::move(n));
  }
  for (const auto& uid : uids_) {
    if (!seen.contains(uid)) gc_.erase(uid);
  }
  uids_ = std::move(seen);
}

std::string MetadataInformer::apply(client::EventType type, const std::string& object) {
  Node n = decode(object);
  auto rv = api::decodeJson<api::meta::v1::PartialObjectMetadata>(object).metadata.resourceVersion;
  if (type == client::EventType::Deleted) {
    uids_.erase(n.uid);
    gc_.erase(n.uid);
  } else {
    uids_.insert(n.uid);
    gc_.upsert(std::move(n));
  }
  return rv;
}

}  // namespace

std::unique_ptr<Controller> makeGarbageCollector(client::Client& client,
                                                 const WorkloadControllerOptions& options) {
  return std::make_unique<GarbageCollector>(client, options);
}

}  // namespace kite::controlplane::controllers
