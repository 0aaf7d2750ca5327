#include "cluster_volumes.h"

#include <algorithm>
#include <stdexcept>

#include "kite/api/labels.h"
#include "kite/api/meta.h"

namespace kite::controlplane::controllers {

namespace {

namespace corev1 = api::core::v1;

bool requirementMatches(const corev1::NodeSelectorRequirement& r,
                        const std::optional<std::string>& value) {
  const auto in = [&] {
    return value && std::find(r.values.begin(), r.values.end(), *value) != r.values.end();
  };
  if (r.operator_ == "In") return in();
  if (r.operator_ == "NotIn") return !in();
  if (r.operator_ == "Exists") return value.has_value();
  if (r.operator_ == "DoesNotExist") return !value.has_value();
  if ((r.operator_ == "Gt" || r.operator_ == "Lt") && value && r.values.size() == 1) {
    try {
      const long long have = std::stoll(*value);
      const long long want = std::stoll(r.values[0]);
      return r.operator_ == "Gt" ? have > want : have < want;
    } catch (const std::exception&) {
      return false;
    }
  }
  return false;
}

api::Quantity storageOf(const std::map<std::string, api::Quantity>& resources) {
  const auto it = resources.find("storage");
  return it == resources.end() ? api::Quantity() : it->second;
}

bool hasAccessModes(const corev1::PersistentVolume& v, const std::vector<std::string>& wanted) {
  return std::all_of(wanted.begin(), wanted.end(), [&](const std::string& m) {
    return std::find(v.spec.accessModes.begin(), v.spec.accessModes.end(), m) !=
           v.spec.accessModes.end();
  });
}

bool fits(const corev1::PersistentVolumeClaim& claim, const corev1::PersistentVolume& v,
          const std::optional<ClusterVolumeNode>& node) {
  if (v.spec.storageClassName != claim.spec.storageClassName.value_or("")) return false;
  if (storageOf(v.spec.capacity) < storageOf(claim.spec.resources.requests)) return false;
  if (!hasAccessModes(v, claim.spec.accessModes)) return false;
  if (v.spec.volumeMode.value_or("Filesystem") != claim.spec.volumeMode.value_or("Filesystem")) {
    return false;
  }
  if (claim.spec.selector && !api::labels::matches(claim.spec.selector, v.metadata.labels)) {
    return false;
  }
  if (node && v.spec.nodeAffinity && v.spec.nodeAffinity->required &&
      !clusterNodeSelectorMatches(*v.spec.nodeAffinity->required, *node)) {
    return false;
  }
  return true;
}

}  // namespace

bool clusterNodeSelectorMatches(const corev1::NodeSelector& selector,
                                const ClusterVolumeNode& node) {
  for (const auto& term : selector.nodeSelectorTerms) {
    if (term.matchExpressions.empty() && term.matchFields.empty()) continue;  // matches nothing
    const bool all =
        std::all_of(term.matchExpressions.begin(), term.matchExpressions.end(),
                    [&](const corev1::NodeSelectorRequirement& r) {
                      const auto it = node.labels.find(r.key);
                      return requirementMatches(r, it == node.labels.end()
                                                       ? std::nullopt
                                                       : std::optional<std::string>(it->second));
                    }) &&
        std::all_of(term.matchFields.begin(), term.matchFields.end(),
                    [&](const corev1::NodeSelectorRequirement& r) {
                      return r.key == "metadata.name" && requirementMatches(r, node.name);
                    });
    if (all) return true;
  }
  return false;
}

bool clusterVolumeIsBoundTo(const corev1::PersistentVolume& volume,
                            const corev1::PersistentVolumeClaim& claim) {
  if (!volume.spec.claimRef) return false;
  const auto& ref = *volume.spec.claimRef;
  if (ref.namespace_ != claim.metadata.namespace_ || ref.name != claim.metadata.name) return false;
  return ref.uid.empty() || claim.metadata.uid.empty() || ref.uid == claim.metadata.uid;
}

const corev1::PersistentVolume* clusterFindVolumeForClaim(
    const corev1::PersistentVolumeClaim& claim,
    const std::vector<const corev1::PersistentVolume*>& volumes,
    const std::optional<ClusterVolumeNode>& node) {
  const corev1::PersistentVolume* best = nullptr;
  for (const auto* v : volumes) {
    if (api::isBeingDeleted(v->metadata)) continue;
    if (clusterVolumeIsBoundTo(*v, claim)) {
      if (fits(claim, *v, node)) return v;
      continue;
    }
    if (v->spec.claimRef) continue;  // someone else's
    if (!v->status.phase.empty() && v->status.phase != "Available") continue;
    if (!fits(claim, *v, node)) continue;
    if (best == nullptr || storageOf(v->spec.capacity) < storageOf(best->spec.capacity)) best = v;
  }
  return best;
}

}  // namespace kite::controlplane::controllers
