#include "cluster_taints.h"

#include <algorithm>

namespace kite::controlplane::controllers {

namespace corev1 = api::core::v1;

bool clusterTolerates(const corev1::Toleration& toleration, const corev1::Taint& taint) {
  if (!toleration.effect.empty() && toleration.effect != taint.effect) return false;
  if (toleration.operator_ == "Exists") {
    // An empty key with Exists tolerates everything.
    return toleration.key.empty() || toleration.key == taint.key;
  }
  // "Equal", the default.
  return toleration.key == taint.key && toleration.value == taint.value;
}

std::optional<std::chrono::seconds> clusterTimeToEviction(
    const std::vector<corev1::Toleration>& tolerations,
    const std::vector<corev1::Taint>& noExecuteTaints) {
  std::optional<std::chrono::seconds> shortest;
  for (const auto& taint : noExecuteTaints) {
    bool tolerated = false;
    for (const auto& t : tolerations) {
      if (!clusterTolerates(t, taint)) continue;
      tolerated = true;
      if (!t.tolerationSeconds) continue;  // forever
      const auto s = std::chrono::seconds(std::max<std::int64_t>(*t.tolerationSeconds, 0));
      if (!shortest || s < *shortest) shortest = s;
    }
    if (!tolerated) return std::chrono::seconds(0);
  }
  return shortest;
}

}  // namespace kite::controlplane::controllers
