#include "kite/kubelet/qos.h"

#include "kite/api/pod_defaults.h"

namespace kite::kubelet {

QosClass qosClassOf(const api::core::v1::PodSpec& spec) {
  const std::string_view name = api::qosClassOf(spec);
  if (name == "Guaranteed") return QosClass::kGuaranteed;
  if (name == "Burstable") return QosClass::kBurstable;
  return QosClass::kBestEffort;
}

}  // namespace kite::kubelet
