#pragma once
// A container's requests and limits as the runtime applies them (CRI Linux
// resources): CPU shares from the request, CFS quota from the limit, the
// memory limit, and oom_score_adj by QoS class — upstream's formulas, so a
// pod gets the same cgroup settings under kite as under the upstream kubelet.

#include <cstdint>

#include "kite/api/core/v1/types.h"
#include "kite/cri/api.h"
#include "kite/kubelet/pod_cgroups.h"

namespace kite::kubelet {

inline constexpr int64_t kMinShares = 2;
inline constexpr int64_t kCpuPeriodMicros = 100000;
inline constexpr int64_t kMinQuotaMicros = 1000;

int64_t milliCpuToShares(int64_t milliCpu);
int64_t milliCpuToQuota(int64_t milliCpu, int64_t period);
// `memoryCapacity` is the node's memory in bytes (for Burstable pods).
int64_t oomScoreAdj(QosClass qos, int64_t memoryRequest, int64_t memoryCapacity);

cri::v1::LinuxContainerResources containerResources(const api::core::v1::Container& container,
                                                    QosClass qos, int64_t memoryCapacity);

}  // namespace kite::kubelet
