#pragma once
// The pod template warnings of a kind whose spec holds `template` (Deployment, ReplicaSet,
// StatefulSet, Job): upstream's WarningsOnCreate, and WarningsOnUpdate when the update moves
// metadata.generation, which any spec change does.

#include <string>
#include <vector>

#include "kite/api/pod_warnings.h"

namespace kite::controlplane::apiserver {

template <class T>
std::vector<std::string> templateWarnings(const T& o, const T* old) {
  if (old != nullptr && o.spec == old->spec) return {};
  return api::podSpecWarnings(o.spec.template_.spec, "spec.template.spec");
}

}  // namespace kite::controlplane::apiserver
