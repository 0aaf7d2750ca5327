#pragma once
// Which UDP conntrack entries a sync leaves stale. UDP has no connection to close, so an
// entry made before a sync keeps DNATing a client's datagrams to an endpoint that is gone
// (or, for a Service that had none, keeps them unanswered) until it times out. As kube-proxy
// does, after a sync every UDP entry whose original destination is a Service address and
// port (ClusterIP, external/LoadBalancer IPs, or a NodePort on any address) and whose reply
// source is not one of that Service port's current endpoints is deleted.
//
// IPv4 and IPv6 ports alike; a NodePort is matched on the addresses of its own family only.
//
//   StaleConntrack stale(&applied, next);   // nullptr for a full sync: every UDP port
//   if (stale.ipv4()) conntrack.removeIf(AF_INET, [&](auto& e) { return stale.matches(...); });
//   if (stale.ipv6()) conntrack.removeIf(AF_INET6, ...);

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>

#include "kite/proxy/desired_state.h"

namespace kite::proxy {

class StaleConntrack {
 public:
  // Looks at the UDP Service ports of `next` that differ from `applied` (all of them when
  // applied is null) and the UDP ports `applied` had that `next` lost.
  StaleConntrack(const DesiredState* applied, const DesiredState& next);

  // Nothing to look for: the conntrack table need not be read.
  bool empty() const { return byAddress_.empty() && byNodePort_.empty(); }
  // Whether there is anything to look for in the conntrack table of a family.
  bool ipv4() const { return ipv4_; }
  bool ipv6() const { return ipv6_; }

  // A UDP entry, by its original destination and its reply source.
  bool matches(const std::string& originalDestination, std::uint16_t originalDestinationPort,
               const std::string& replySource, std::uint16_t replySourcePort) const;

 private:
  using Endpoints = std::set<std::pair<std::string, std::uint16_t>>;
  void watch(const ServicePortState& port, const Endpoints& current);

  std::map<std::pair<std::string, std::uint16_t>, Endpoints> byAddress_;
  // (IPv6?, NodePort) -> endpoints.
  std::map<std::pair<bool, std::uint16_t>, Endpoints> byNodePort_;
  bool ipv4_ = false;
  bool ipv6_ = false;
};

}  // namespace kite::proxy
