#pragma once
// Which PersistentVolume a claim binds to (pure, for the binder and its tests), with upstream's
// rules: a volume pre-bound to the claim (claimRef) wins; otherwise an Available volume with
// the claim's storage class, at least the requested capacity, every requested access mode, the
// same volume mode, labels matching the claim's selector and, once a node is chosen, node
// affinity admitting that node; the smallest such volume.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "kite/api/core/v1/types.h"

namespace kite::controlplane::controllers {

// The node a WaitForFirstConsumer claim is to be used on.
struct ClusterVolumeNode {
  std::string name;
  std::map<std::string, std::string> labels;
};

// Whether a NodeSelector (its terms ORed, each term's requirements ANDed) admits the node.
bool clusterNodeSelectorMatches(const api::core::v1::NodeSelector& selector,
                                const ClusterVolumeNode& node);

// The volume's claimRef names this claim (by namespace and name, and uid when both have one).
bool clusterVolumeIsBoundTo(const api::core::v1::PersistentVolume& volume,
                            const api::core::v1::PersistentVolumeClaim& claim);

const api::core::v1::PersistentVolume* clusterFindVolumeForClaim(
    const api::core::v1::PersistentVolumeClaim& claim,
    const std::vector<const api::core::v1::PersistentVolume*>& volumes,
    const std::optional<ClusterVolumeNode>& node);

}  // namespace kite::controlplane::controllers
