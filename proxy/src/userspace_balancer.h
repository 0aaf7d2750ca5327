#pragma once
// Picks the endpoint of each new connection or UDP flow of one Service port, for one kind of
// client (ClusterIP clients, or NodePort and external ones when a traffic policy tells them
// apart): round robin, or the endpoint a client used last while sessionAffinity ClientIP
// holds (refreshed by every connection, as upstream's affinity timeout counts from the last
// use). An endpoint that refuses is skipped for that connection and the client re-pinned.

#include <chrono>
#include <cstdint>
#include <optional>
#include <unordered_map>
#include <vector>

#include "kite/proxy/desired_state.h"
#include "userspace_event_loop.h"
#include "userspace_socket.h"

namespace kite::proxy::userspace {

class Balancer {
 public:
  // New endpoints (sorted, unique) and affinity; pins to endpoints now gone are dropped.
  void update(const std::vector<EndpointTarget>& endpoints,
              std::optional<std::int32_t> affinitySeconds);
  bool empty() const { return endpoints_.empty(); }
  const std::vector<EndpointTarget>& endpoints() const { return endpoints_; }

  // The endpoint for a new connection from `clientIp`, not one of `tried`; std::nullopt when
  // none is left.
  std::optional<EndpointTarget> pick(const IpKey& clientIp,
                                     const std::vector<EndpointTarget>& tried,
                                     Clock::time_point now);
  // Forgets pins older than the affinity timeout.
  void prune(Clock::time_point now);

 private:
  struct Pin {
    EndpointTarget endpoint;
    Clock::time_point lastUsed;
  };
  std::vector<EndpointTarget> endpoints_;
  std::size_t next_ = 0;
  std::optional<std::chrono::seconds> affinity_;
  std::unordered_map<IpKey, Pin, BytesHash> pins_;
};

}  // namespace kite::proxy::userspace
