#include "userspace_balancer.h"

#include <algorithm>

namespace kite::proxy::userspace {

void Balancer::update(const std::vector<EndpointTarget>& endpoints,
                      std::optional<std::int32_t> affinitySeconds) {
  endpoints_ = endpoints;
  if (affinitySeconds) {
    affinity_ = std::chrono::seconds(*affinitySeconds);
  } else {
    affinity_.reset();
    pins_.clear();
  }
  std::erase_if(pins_, [&](const auto& entry) {
    return !std::binary_search(endpoints_.begin(), endpoints_.end(), entry.second.endpoint);
  });
}

std::optional<EndpointTarget> Balancer::pick(const IpKey& clientIp,
                                             const std::vector<EndpointTarget>& tried,
                                             Clock::time_point now) {
  const auto untried = [&](const EndpointTarget& e) {
    return std::find(tried.begin(), tried.end(), e) == tried.end();
  };
  if (affinity_) {
    const auto it = pins_.find(clientIp);
    if (it != pins_.end() && now - it->second.lastUsed <= *affinity_ &&
        untried(it->second.endpoint)) {
      it->second.lastUsed = now;
      return it->second.endpoint;
    }
  }
  for (std::size_t i = 0; i < endpoints_.size(); ++i) {
    const EndpointTarget& candidate = endpoints_[next_++ % endpoints_.size()];
    if (!untried(candidate)) continue;
    if (affinity_) pins_[clientIp] = Pin{candidate, now};
    return candidate;
  }
  return std::nullopt;
}

void Balancer::prune(Clock::time_point now) {
  if (!affinity_) return;
  std::erase_if(pins_, [&](const auto& entry) { return now - entry.second.lastUsed > *affinity_; });
}

}  // namespace kite::proxy::userspace
