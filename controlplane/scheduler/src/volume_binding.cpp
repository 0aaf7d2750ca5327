// VolumeBinding for local persistent volumes: a bound claim's volume must be reachable from
// the node (its nodeAffinity); an unbound claim of a WaitForFirstConsumer class needs an
// available volume that matches it and the node, or a class whose provisioner can make one
// there (the local-path provisioner makes it on the node the scheduler picks).
#include <algorithm>

#include "kite/api/labels.h"
#include "kite/controlplane/scheduler/plugins.h"

namespace kite::controlplane::scheduler {

namespace {

bool volumeReachable(const corev1::PersistentVolume& pv, const corev1::Node& node) {
  if (!pv.spec.nodeAffinity || !pv.spec.nodeAffinity->required) return true;
  return nodeSelectorMatches(*pv.spec.nodeAffinity->required, node);
}

std::string classOf(const corev1::PersistentVolumeClaim& pvc) {
  return pvc.spec.storageClassName.value_or("");
}

}  // namespace

bool claimIsProvisionable(const corev1::PersistentVolumeClaim& pvc, const VolumeLister& lister,
                          const corev1::Node& node) {
  const auto sc = lister.storageClass(classOf(pvc));
  if (!sc || sc->provisioner.empty() || sc->provisioner == "kubernetes.io/no-provisioner") {
    return false;
  }
  if (sc->allowedTopologies.empty()) return true;
  // Upstream: the node must match one of the class's topology terms.
  return std::any_of(
      sc->allowedTopologies.begin(), sc->allowedTopologies.end(), [&](const auto& term) {
        return std::all_of(term.matchLabelExpressions.begin(), term.matchLabelExpressions.end(),
                           [&](const auto& requirement) {
                             const auto label = node.metadata.labels.find(requirement.key);
                             return label != node.metadata.labels.end() &&
                                    std::find(requirement.values.begin(), requirement.values.end(),
                                              label->second) != requirement.values.end();
                           });
      });
}

bool volumeMatchesClaim(const corev1::PersistentVolume& pv,
                        const corev1::PersistentVolumeClaim& pvc, const corev1::Node& node) {
  if (pv.metadata.deletionTimestamp) return false;
  if (pv.spec.claimRef) {
    // Reserved for a claim: only that one.
    const auto& ref = *pv.spec.claimRef;
    if (ref.name != pvc.metadata.name || ref.namespace_ != pvc.metadata.namespace_) return false;
    if (!ref.uid.empty() && ref.uid != pvc.metadata.uid) return false;
  } else if (pv.status.phase == "Released" || pv.status.phase == "Failed") {
    return false;
  }
  if (pv.spec.storageClassName != classOf(pvc)) return false;
  if (pv.spec.volumeMode.value_or("Filesystem") != pvc.spec.volumeMode.value_or("Filesystem")) {
    return false;
  }
  for (const auto& mode : pvc.spec.accessModes) {
    if (std::find(pv.spec.accessModes.begin(), pv.spec.accessModes.end(), mode) ==
        pv.spec.accessModes.end()) {
      return false;
    }
  }
  if (const auto want = pvc.spec.resources.requests.find("storage");
      want != pvc.spec.resources.requests.end()) {
    const auto have = pv.spec.capacity.find("storage");
    if (have == pv.spec.capacity.end() || have->second < want->second) return false;
  }
  if (pvc.spec.selector && !api::labels::matches(*pvc.spec.selector, pv.metadata.labels)) {
    return false;
  }
  return volumeReachable(pv, node);
}

VolumeBindingState prepareVolumeBinding(const corev1::Pod& pod, const VolumeLister* lister) {
  VolumeBindingState state;
  for (const auto& v : pod.spec.volumes) {
    if (!v.persistentVolumeClaim) continue;
    const std::string& name = v.persistentVolumeClaim->claimName;
    if (lister == nullptr) {
      state.preFilterError = "persistentvolumeclaim \"" + name + "\" not found";
      return state;
    }
    auto pvc = lister->claim(pod.metadata.namespace_, name);
    if (!pvc) {
      state.preFilterError = "persistentvolumeclaim \"" + name + "\" not found";
      return state;
    }
    if (pvc->metadata.deletionTimestamp) {
      state.preFilterError = "persistentvolumeclaim \"" + name + "\" is being deleted";
      return state;
    }
    if (!pvc->spec.volumeName.empty()) {
      auto pv = lister->volume(pvc->spec.volumeName);
      if (!pv) {
        state.preFilterError = "pvc(s) bound to non-existent pv(s)";
        return state;
      }
      state.boundVolumes.push_back(std::move(pv));
      continue;
    }
    const auto sc = lister->storageClass(classOf(*pvc));
    if (sc && sc->volumeBindingMode.value_or("Immediate") == "WaitForFirstConsumer") {
      state.delayedClaims.push_back(std::move(pvc));
    } else {
      state.preFilterError = "pod has unbound immediate PersistentVolumeClaims";
      return state;
    }
  }
  return state;
}

Status filterVolumeBinding(const VolumeBindingState& state, const VolumeLister* lister,
                           const NodeInfo& node) {
  Status status;
  for (const auto& pv : state.boundVolumes) {
    if (!volumeReachable(*pv, *node.node())) {
      status.reasons.emplace_back(reasons::kVolumeNodeConflict);
      break;
    }
  }
  if (!state.delayedClaims.empty() && lister != nullptr) {
    const auto volumes = lister->volumes();
    for (const auto& pvc : state.delayedClaims) {
      const bool found = std::any_of(volumes.begin(), volumes.end(),
                                     [&](const auto& pv) {
                                       return volumeMatchesClaim(*pv, *pvc, *node.node());
                                     }) ||
                         claimIsProvisionable(*pvc, *lister, *node.node());
      if (!found) {
        status.reasons.emplace_back(reasons::kNoPersistentVolumes);
        break;
      }
    }
  }
  if (!status.reasons.empty()) status.code = Code::UnschedulableAndUnresolvable;
  return status;
}

}  // namespace kite::controlplane::scheduler
