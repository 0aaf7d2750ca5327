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

bool differsForSync(const api::core::v1::Pod& a, const api::core::v1::Pod& b) {
  return a.spec != b.spec || a.metadata.labels != b.metadata.labels ||
         a.metadata.annotations != b.metadata.annotations ||
         a.metadata.deletionTimestamp != b.metadata.deletionTimestamp ||
         a.metadata.deletionGracePeriodSeconds != b.metadata.deletionGracePeriodSeconds;
}

}  // namespace kite::kubelet
