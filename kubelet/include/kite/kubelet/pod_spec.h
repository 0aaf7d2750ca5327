#pragma once
// Small lookups in a pod's spec shared by the kubelet's pieces.

#include <string>

#include "kite/api/core/v1/types.h"

namespace kite::kubelet {

// The regular or init container of that name, or nullptr.
const api::core::v1::Container* findContainer(const api::core::v1::Pod& pod,
                                              const std::string& name);

}  // namespace kite::kubelet
