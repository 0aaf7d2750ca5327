#pragma once
// Whether a node matches a NodeSelector (a PersistentVolume's nodeAffinity):
// any term matches when all its matchExpressions (on labels) and matchFields
// (metadata.name) hold; operators In, NotIn, Exists, DoesNotExist, Gt, Lt.

#include <map>
#include <string>

#include "kite/api/core/v1/types.h"

namespace kite::kubelet {

bool nodeSelectorMatches(const api::core::v1::NodeSelector& selector,
                         const std::map<std::string, std::string>& nodeLabels,
                         const std::string& nodeName);

}  // namespace kite::kubelet
