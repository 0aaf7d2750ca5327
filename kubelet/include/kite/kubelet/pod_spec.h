#pragma once
// Small lookups in a pod's spec shared by the kubelet's pieces.

#include <string>

#include "kite/api/core/v1/types.h"

namespace kite::kubelet {

// The regular or init container of that name, or nullptr.
const api::core::v1::Container* findContainer(const api::core::v1::Pod& pod,
                                              const std::string& name);

// Whether two versions of a pod differ in what a sync acts on: spec, labels, annotations,
// deletionTimestamp, deletionGracePeriodSeconds (upstream's semantic comparison of config
// updates). Status, resourceVersion and managedFields are not among them.
bool differsForSync(const api::core::v1::Pod& a, const api::core::v1::Pod& b);

}  // namespace kite::kubelet
