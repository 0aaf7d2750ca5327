#include "kite/kubelet/pod_spec.h"

namespace kite::kubelet {

const api::core::v1::Container* findContainer(const api::core::v1::Pod& pod,
                                              const std::string& name) {
  for (const auto* list : {&pod.spec.containers, &pod.spec.initContainers}) {
    for (const auto& c : *list) {
      if (c.name == name) return &c;
    }
  }
  return nullptr;
}

}  // namespace kite::kubelet
