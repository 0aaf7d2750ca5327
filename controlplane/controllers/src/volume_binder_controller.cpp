// persistentvolume-binder (with the local-path provisioner): binds claims to volumes
// (cluster_volumes.h), keeps the phases (Available, Bound, Released) and the annotations
// pv.kubernetes.io/bind-completed and bound-by-controller as upstream, reclaims volumes whose
// claim is gone (Retain: Released; Delete: the PV is deleted), waits for the scheduler's
// volume.kubernetes.io/selected-node with WaitForFirstConsumer classes, gives claims without a
// class the default class, and provisions hostPath volumes for the `local-path` class
// (rancher.io/local-path, as k3s) under <localPathDir>/pvc-<uid>_<ns>_<name> on the selected
// node. The classes local-path (default) and local-storage are created at start.
//
// Keys: "pvc/<ns>/<name>" and "pv/<name>".

#include <spdlog/spdlog.h>

#include <set>
#include <stdexcept>

#include "cluster_controller_base.h"
#include "cluster_controllers.h"
#include "cluster_events.h"
#include "cluster_volumes.h"
#include "kite/api/core/v1/types.h"
#include "kite/api/meta.h"
#include "kite/api/storage/v1/types.h"
#include "local_path_helper.h"

namespace kite::controlplane::controllers {

namespace {

namespace corev1 = api::core::v1;
namespace storagev1 = api::storage::v1;

constexpr std::string_view kClaimPrefix = "pvc/";
constexpr std::string_view kVolumePrefix = "pv/";
constexpr const char* kBindCompleted = "pv.kubernetes.io/bind-completed";
constexpr const char* kBoundByController = "pv.kubernetes.io/bound-by-controller";
constexpr const char* kSelectedNode = "volume.kubernetes.io/selected-node";
constexpr const char* kStorageProvisioner = "volume.kubernetes.io/storage-provisioner";
constexpr const char* kBetaStorageProvisioner = "volume.beta.kubernetes.io/storage-provisioner";
constexpr const char* kProvisionedBy = "pv.kubernetes.io/provisioned-by";
constexpr const char* kDefaultClass = "storageclass.kubernetes.io/is-default-class";
constexpr const char* kLocalPathProvisioner = "rancher.io/local-path";
constexpr const char* kHostnameLabel = "kubernetes.io/hostname";
constexpr const char* kComponent = "persistentvolume-controller";

class VolumeBinderController final : public ClusterControllerBase {
 public:
  VolumeBinderController(client::Client& client,
                         const std::shared_ptr<client::SharedInformers>& informers,
                         const ClusterControllerOptions& options)
      : ClusterControllerBase("persistentvolume-binder", options.syncTimeout, informers),
        client_(client),
        localPathDir_(options.localPathDir),
        helperImage_(options.localPathHelperImage),
        volumes_(informers->get<corev1::PersistentVolume>()),
        claims_(informers->get<corev1::PersistentVolumeClaim>()),
        classes_(informers->get<storagev1::StorageClass>()),
        nodes_(informers->get<corev1::Node>()),
        helpers_(client, kLocalPathHelperNamespace,
                 {.labelSelector = std::string(kLocalPathHelperLabel)}) {
    auto onVolume = [this](const corev1::PersistentVolume& v) {
      queue().add(std::string(kVolumePrefix) + v.metadata.name);
      if (v.spec.claimRef) {
        queue().add(std::string(kClaimPrefix) +
                    api::fullName(v.spec.claimRef->namespace_, v.spec.claimRef->name));
      }
    };
    volumes_.addEventHandler({
        .onAdd = onVolume,
        .onUpdate = [onVolume](const corev1::PersistentVolume&,
                               const corev1::PersistentVolume& v) { onVolume(v); },
        .onDelete = onVolume,
    });
    auto onClaim = [this](const corev1::PersistentVolumeClaim& c) {
      queue().add(std::string(kClaimPrefix) + api::fullName(c.metadata));
      if (!c.spec.volumeName.empty()) {
        queue().add(std::string(kVolumePrefix) + c.spec.volumeName);
      }
    };
    claims_.addEventHandler({
        .onAdd = onClaim,
        .onUpdate = [onClaim](const corev1::PersistentVolumeClaim&,
                              const corev1::PersistentVolumeClaim& c) { onClaim(c); },
        .onDelete = onClaim,
    });
    // A class that appears or changes (e.g. the default local-path class created on start) can
    // unblock claims synced before it existed: without a class, and waiting on one.
    auto onClass = [this](const storagev1::StorageClass&) {
      for (const auto& c : claims_.cache().list()) {
        if (c->spec.volumeName.empty())
          queue().add(std::string(kClaimPrefix) + api::fullName(c->metadata));
      }
    };
    classes_.addEventHandler({
        .onAdd = onClass,
        .onUpdate = [onClass](const storagev1::StorageClass&,
                              const storagev1::StorageClass& sc) { onClass(sc); },
        .onDelete = onClass,
    });
    // A helper pod's progress brings its volume back (the pod is named after it).
    auto onHelper = [this](const corev1::Pod& pod) {
      const std::string prefix = localPathDeletePodName("");
      if (pod.metadata.name.starts_with(prefix)) {
        queue().add(std::string(kVolumePrefix) + pod.metadata.name.substr(prefix.size()));
      }
    };
    helpers_.addEventHandler({
        .onAdd = onHelper,
        .onUpdate = [onHelper](const corev1::Pod&, const corev1::Pod& pod) { onHelper(pod); },
        .onDelete = onHelper,
    });
    watch(volumes_);
    watch(claims_);
    watch(classes_);
    watch(nodes_);
    watch(helpers_);
  }
  ~VolumeBinderController() override { stop(); }
  VolumeBinderController(const VolumeBinderController&) = delete;
  VolumeBinderController& operator=(const VolumeBinderController&) = delete;

 protected:
  void onSynced() override {
    ensureClass("local-path", kLocalPathProvisioner, "Delete", true);
    ensureClass("local-storage", "kubernetes.io/no-provisioner", "Delete", false);
  }

  void sync(const std::string& key) override {
    if (key.starts_with(kClaimPrefix)) {
      const auto rest = key.substr(kClaimPrefix.size());
      const auto slash = rest.find('/');
      if (const auto claim = claims_.cache().get(rest.substr(0, slash), rest.substr(slash + 1))) {
        syncClaim(*claim);
      }
    } else if (key.starts_with(kVolumePrefix)) {
      const std::string name = key.substr(kVolumePrefix.size());
      if (const auto volume = volumes_.cache().get("", name)) {
        syncVolume(*volume);
      } else {
        removeFinishedHelper(name);  // its volume is gone: nothing waits for it any longer
      }
    }
  }

 private:
  void ensureClass(const std::string& name, const std::string& provisioner,
                   const std::string& reclaim, bool isDefault) {
    if (classes_.cache().get("", name)) return;
    storagev1::StorageClass sc;
    sc.metadata.name = name;
    if (isDefault) sc.metadata.annotations[kDefaultClass] = "true";
    sc.provisioner = provisioner;
    sc.reclaimPolicy = reclaim;
    sc.volumeBindingMode = "WaitForFirstConsumer";
    try {
      client_.create(sc);
      spdlog::info("persistentvolume-binder controller: created StorageClass {}", name);
    } catch (const client::ApiError& e) {
      if (!e.isAlreadyExists()) throw;
    }
  }

  std::shared_ptr<const storagev1::StorageClass> defaultClass() const {
    for (const auto& sc : classes_.cache().list()) {
      const auto it = sc->metadata.annotations.find(kDefaultClass);
      if (it != sc->metadata.annotations.end() && it->second == "true") return sc;
    }
    return nullptr;
  }

  std::optional<ClusterVolumeNode> selectedNode(const corev1::PersistentVolumeClaim& claim) const {
    const auto it = claim.metadata.annotations.find(kSelectedNode);
    if (it == claim.metadata.annotations.end() || it->second.empty()) return std::nullopt;
    ClusterVolumeNode node{it->second, {}};
    if (const auto n = nodes_.cache().get("", it->second)) node.labels = n->metadata.labels;
    if (!node.labels.contains(kHostnameLabel)) node.labels[kHostnameLabel] = node.name;
    return node;
  }

  void setClaimPhase(const corev1::PersistentVolumeClaim& claim, const std::string& phase) {
    if (claim.status.phase == phase) return;
    auto updated = claim;
    updated.status.phase = phase;
    client_.updateStatus(updated);
  }

  void syncClaim(const corev1::PersistentVolumeClaim& claim) {
    if (api::isBeingDeleted(claim.metadata)) return;
    if (!claim.spec.storageClassName) {
      // Retroactive default class, as upstream's binder does for claims created without one.
      if (const auto sc = defaultClass()) {
        client_.patch<corev1::PersistentVolumeClaim>(
            claim.metadata.namespace_, claim.metadata.name, client::PatchType::Merge,
            R"({"spec":{"storageClassName":")" + sc->metadata.name + R"("}})");
        return;
      }
    }
    if (!claim.spec.volumeName.empty()) {
      syncClaimWithVolumeName(claim);
      return;
    }
    const std::string className = claim.spec.storageClassName.value_or("");
    const auto sc = className.empty() ? nullptr : classes_.cache().get("", className);
    const auto node = selectedNode(claim);
    if (sc && sc->volumeBindingMode.value_or("Immediate") == "WaitForFirstConsumer" && !node) {
      setClaimPhase(claim, "Pending");  // waiting for the first consumer to be scheduled
      if (announcedWaiting_.insert(claim.metadata.uid).second) {
        clusterRecordEvent(client_, kComponent, clusterReferenceTo(claim), "Normal",
                           "WaitForFirstConsumer",
                           "waiting for first consumer to be created before binding");
      }
      return;
    }
    std::vector<const corev1::PersistentVolume*> volumes;
    const auto all = volumes_.cache().list();
    volumes.reserve(all.size());
    for (const auto& v : all) volumes.push_back(v.get());
    if (const auto* volume = clusterFindVolumeForClaim(claim, volumes, node)) {
      bind(*volume, claim, true);
      return;
    }
    if (sc && sc->provisioner == kLocalPathProvisioner && node) {
      provision(claim, *sc, *node);
      return;
    }
    setClaimPhase(claim, "Pending");
  }

  void syncClaimWithVolumeName(const corev1::PersistentVolumeClaim& claim) {
    const auto volume = volumes_.cache().get("", claim.spec.volumeName);
    if (!volume) {
      setClaimPhase(claim, claim.status.phase == "Bound" ? "Lost" : "Pending");
      return;
    }
    if (volume->spec.claimRef && !clusterVolumeIsBoundTo(*volume, claim)) {
      setClaimPhase(claim, "Pending");  // the volume is someone else's
      return;
    }
    bind(*volume, claim, false);
  }

  // Completes the binding on both sides; each step is skipped when done already, so a retry
  // after a conflict picks up where it stopped.
  void bind(const corev1::PersistentVolume& cachedVolume,
            const corev1::PersistentVolumeClaim& cachedClaim, bool controllerChoseVolume) {
    auto volume = cachedVolume;
    if (!volume.spec.claimRef || volume.spec.claimRef->uid != cachedClaim.metadata.uid) {
      corev1::ObjectReference ref;
      ref.kind = "PersistentVolumeClaim";
      ref.apiVersion = "v1";
      ref.namespace_ = cachedClaim.metadata.namespace_;
      ref.name = cachedClaim.metadata.name;
      ref.uid = cachedClaim.metadata.uid;
      ref.resourceVersion = cachedClaim.metadata.resourceVersion;
      if (!volume.spec.claimRef) volume.metadata.annotations[kBoundByController] = "yes";
      volume.spec.claimRef = ref;
      volume = client_.update(volume);
    }
    if (volume.status.phase != "Bound") {
      volume.status.phase = "Bound";
      volume = client_.updateStatus(volume);
    }
    auto claim = cachedClaim;
    if (claim.spec.volumeName != volume.metadata.name ||
        !claim.metadata.annotations.contains(kBindCompleted)) {
      claim.spec.volumeName = volume.metadata.name;
      claim.metadata.annotations[kBindCompleted] = "yes";
      if (controllerChoseVolume) claim.metadata.annotations[kBoundByController] = "yes";
      claim = client_.update(claim);
    }
    if (claim.status.phase != "Bound") {
      claim.status.phase = "Bound";
      claim.status.accessModes = volume.spec.accessModes;
      claim.status.capacity = volume.spec.capacity;
      client_.updateStatus(claim);
      spdlog::info("persistentvolume-binder controller: claim {}/{} bound to volume {}",
                   claim.metadata.namespace_, claim.metadata.name, volume.metadata.name);
    }
  }

  void provision(const corev1::PersistentVolumeClaim& claim, const storagev1::StorageClass& sc,
                 const ClusterVolumeNode& node) {
    if (!claim.metadata.annotations.contains(kStorageProvisioner)) {
      auto annotated = claim;
      annotated.metadata.annotations[kStorageProvisioner] = sc.provisioner;
      annotated.metadata.annotations[kBetaStorageProvisioner] = sc.provisioner;
      client_.update(annotated);
      return;  // the update event brings the claim back
    }
    corev1::PersistentVolume pv;
    pv.metadata.name = "pvc-" + claim.metadata.uid;
    pv.metadata.annotations[kProvisionedBy] = sc.provisioner;
    const auto request = claim.spec.resources.requests.find("storage");
    if (request != claim.spec.resources.requests.end()) {
      pv.spec.capacity["storage"] = request->second;
    }
    pv.spec.accessModes = claim.spec.accessModes;
    pv.spec.persistentVolumeReclaimPolicy = sc.reclaimPolicy.value_or("Delete");
    pv.spec.storageClassName = sc.metadata.name;
    pv.spec.volumeMode = "Filesystem";
    corev1::HostPathVolumeSource hostPath;
    hostPath.path = localPathDir_ + "/pvc-" + claim.metadata.uid + "_" + claim.metadata.namespace_ +
                    "_" + claim.metadata.name;
    hostPath.type = "DirectoryOrCreate";
    pv.spec.hostPath = hostPath;
    corev1::NodeSelectorRequirement onNode;
    onNode.key = kHostnameLabel;
    onNode.operator_ = "In";
    onNode.values = {node.labels.at(kHostnameLabel)};
    corev1::NodeSelectorTerm term;
    term.matchExpressions = {onNode};
    pv.spec.nodeAffinity.emplace();
    pv.spec.nodeAffinity->required.emplace();
    pv.spec.nodeAffinity->required->nodeSelectorTerms = {term};
    corev1::ObjectReference ref;
    ref.kind = "PersistentVolumeClaim";
    ref.apiVersion = "v1";
    ref.namespace_ = claim.metadata.namespace_;
    ref.name = claim.metadata.name;
    ref.uid = claim.metadata.uid;
    pv.spec.claimRef = ref;
    try {
      client_.create(pv);
      clusterRecordEvent(client_, kComponent, clusterReferenceTo(claim), "Normal",
                         "ProvisioningSucceeded",
                         "Successfully provisioned volume " + pv.metadata.name);
      spdlog::info("persistentvolume-binder controller: provisioned {} at {} on node {}",
                   pv.metadata.name, hostPath.path, node.name);
    } catch (const client::ApiError& e) {
      if (!e.isAlreadyExists()) throw;
    }
  }

  void syncVolume(const corev1::PersistentVolume& volume) {
    if (api::isBeingDeleted(volume.metadata)) return;
    if (!volume.spec.claimRef) {
      if (volume.status.phase != "Available" && volume.status.phase != "Failed") {
        auto updated = volume;
        updated.status.phase = "Available";
        client_.updateStatus(updated);
      }
      return;
    }
    const auto& ref = *volume.spec.claimRef;
    auto claim = claims_.cache().get(ref.namespace_, ref.name);
    if (!claim && !ref.uid.empty()) {
      // The cache may lag behind a claim created a moment ago: ask the server.
      try {
        claim = std::make_shared<const corev1::PersistentVolumeClaim>(
            client_.get<corev1::PersistentVolumeClaim>(ref.namespace_, ref.name));
      } catch (const client::ApiError& e) {
        if (!e.isNotFound()) throw;
      }
    }
    if (claim && clusterVolumeIsBoundTo(volume, *claim)) return;  // syncClaim binds
    if (ref.uid.empty()) {
      // Pre-bound by the user to a claim that does not exist yet.
      if (volume.status.phase != "Available") {
        auto updated = volume;
        updated.status.phase = "Available";
        client_.updateStatus(updated);
      }
      return;
    }
    // Its claim is gone.
    if (volume.status.phase != "Released") {
      auto updated = volume;
      updated.status.phase = "Released";
      client_.updateStatus(updated);
      return;  // the update event brings it back for the reclaim
    }
    if (volume.spec.persistentVolumeReclaimPolicy == "Delete") {
      if (!localPathDataRemoved(volume)) return;  // the helper pod's events bring it back
      try {
        client_.remove<corev1::PersistentVolume>("", volume.metadata.name);
        spdlog::info("persistentvolume-binder controller: deleted released volume {}",
                     volume.metadata.name);
      } catch (const client::ApiError& e) {
        if (!e.isNotFound()) throw;
      }
    }
  }

  // For a local-path volume: whether its directory on the node is gone, starting the helper
  // pod that removes it if needed (k3s's provisioner does the same). Other volumes: true.
  bool localPathDataRemoved(const corev1::PersistentVolume& volume) {
    const auto by = volume.metadata.annotations.find(kProvisionedBy);
    if (by == volume.metadata.annotations.end() || by->second != kLocalPathProvisioner) return true;
    const std::string podName = localPathDeletePodName(volume.metadata.name);
    if (const auto pod = helpers_.cache().get(kLocalPathHelperNamespace, podName)) {
      if (!helperFinished(*pod)) return false;
      removeHelper(podName);
      if (pod->status.phase == "Failed") {
        clusterRecordEvent(client_, kComponent, clusterReferenceTo(volume), "Warning",
                           "VolumeFailedDelete",
                           "helper pod " + podName + " failed to remove the volume's data");
        throw std::runtime_error("local-path helper pod " + podName + " failed");  // back-off
      }
      return true;
    }
    const std::string hostname = localPathVolumeHostname(volume);
    std::string nodeName;
    for (const auto& node : nodes_.cache().list()) {
      const auto label = node->metadata.labels.find(kHostnameLabel);
      if (label != node->metadata.labels.end() && label->second == hostname) {
        nodeName = node->metadata.name;
      }
    }
    try {
      // The cache may still hold a volume this controller has just deleted: a helper pod
      // started for it would never be removed.
      if (api::isBeingDeleted(
              client_.get<corev1::PersistentVolume>("", volume.metadata.name).metadata)) {
        return false;
      }
    } catch (const client::ApiError& e) {
      if (e.isNotFound()) return false;
      throw;
    }
    const auto pod = localPathDeletePod(volume, nodeName, helperImage_);
    if (nodeName.empty() || !pod) {
      spdlog::warn("persistentvolume-binder controller: the data of {} stays on {}: {}",
                   volume.metadata.name, hostname.empty() ? "its node" : hostname,
                   nodeName.empty() ? "the node is gone" : "not a local-path directory");
      return true;
    }
    try {
      client_.create(*pod);
      spdlog::info("persistentvolume-binder controller: removing the data of {} on {}",
                   volume.metadata.name, nodeName);
    } catch (const client::ApiError& e) {
      if (!e.isAlreadyExists()) throw;
    }
    return false;
  }

  static bool helperFinished(const corev1::Pod& pod) {
    return pod.status.phase == "Succeeded" || pod.status.phase == "Failed";
  }

  void removeFinishedHelper(const std::string& volumeName) {
    const std::string podName = localPathDeletePodName(volumeName);
    const auto pod = helpers_.cache().get(kLocalPathHelperNamespace, podName);
    if (pod && helperFinished(*pod)) {
      removeHelper(podName);
    }
  }

  void removeHelper(const std::string& podName) {
    try {
      client_.remove<corev1::Pod>(kLocalPathHelperNamespace, podName);
    } catch (const client::ApiError& e) {
      if (!e.isNotFound()) throw;
    }
  }

  client::Client& client_;
  std::string localPathDir_;
  std::string helperImage_;
  client::Informer<corev1::PersistentVolume>& volumes_;
  client::Informer<corev1::PersistentVolumeClaim>& claims_;
  client::Informer<storagev1::StorageClass>& classes_;
  client::Informer<corev1::Node>& nodes_;
  client::Informer<corev1::Pod> helpers_;   // kube-system's local-path helper pods
  std::set<std::string> announcedWaiting_;  // claim uids; the worker thread's only
};

}  // namespace

std::unique_ptr<Controller> newVolumeBinderController(
    client::Client& client, const std::shared_ptr<client::SharedInformers>& informers,
    const ClusterControllerOptions& options) {
  return std::make_unique<VolumeBinderController>(client, informers, options);
}

}  // namespace kite::controlplane::controllers
