#include "kite/kubelet/container_resources.h"

namespace kite::kubelet {

namespace {
constexpr int64_t kGuaranteedOomScoreAdj = -997;
constexpr int64_t kBestEffortOomScoreAdj = 1000;

const api::Quantity* find(const std::map<std::string, api::Quantity>& list, const char* name) {
  auto it = list.find(name);
  return it == list.end() ? nullptr : &it->second;
}
}  // namespace

int64_t milliCpuToShares(int64_t milliCpu) {
  if (milliCpu == 0) return kMinShares;
  const int64_t shares = milliCpu * 1024 / 1000;
  return shares < kMinShares ? kMinShares : shares;
}

int64_t milliCpuToQuota(int64_t milliCpu, int64_t period) {
  if (milliCpu == 0) return 0;
  const int64_t quota = milliCpu * period / 1000;
  return quota < kMinQuotaMicros ? kMinQuotaMicros : quota;
}

int64_t oomScoreAdj(QosClass qos, int64_t memoryRequest, int64_t memoryCapacity) {
  if (qos == QosClass::kGuaranteed) return kGuaranteedOomScoreAdj;
  if (qos == QosClass::kBestEffort) return kBestEffortOomScoreAdj;
  if (memoryCapacity <= 0) return kBestEffortOomScoreAdj - 1;
  // The more memory a Burstable container asks for, the less likely it is killed
  // first, but never as protected as Guaranteed nor as exposed as BestEffort.
  int64_t adj = 1000 - (1000 * memoryRequest) / memoryCapacity;
  if (adj < 1000 + kGuaranteedOomScoreAdj) adj = 1000 + kGuaranteedOomScoreAdj;
  if (adj == kBestEffortOomScoreAdj) adj -= 1;
  return adj;
}

cri::v1::LinuxContainerResources containerResources(const api::core::v1::Container& container,
                                                    QosClass qos, int64_t memoryCapacity) {
  cri::v1::LinuxContainerResources out;
  const auto& requests = container.resources.requests;
  const auto& limits = container.resources.limits;
  const api::Quantity* cpuRequest = find(requests, "cpu");
  const api::Quantity* cpuLimit = find(limits, "cpu");
  const api::Quantity* memoryRequest = find(requests, "memory");
  const api::Quantity* memoryLimit = find(limits, "memory");

  // No request but a limit: the share follows the limit, as upstream does.
  const int64_t milliForShares = (cpuRequest == nullptr || cpuRequest->isZero()) && cpuLimit
                                     ? cpuLimit->milliValue()
                                     : (cpuRequest ? cpuRequest->milliValue() : 0);
  out.set_cpu_shares(milliCpuToShares(milliForShares));
  if (cpuLimit != nullptr && !cpuLimit->isZero()) {
    out.set_cpu_period(kCpuPeriodMicros);
    out.set_cpu_quota(milliCpuToQuota(cpuLimit->milliValue(), kCpuPeriodMicros));
  }
  if (memoryLimit != nullptr && !memoryLimit->isZero()) {
    out.set_memory_limit_in_bytes(memoryLimit->value());
  }
  out.set_oom_score_adj(
      oomScoreAdj(qos, memoryRequest ? memoryRequest->value() : 0, memoryCapacity));
  return out;
}

}  // namespace kite::kubelet
