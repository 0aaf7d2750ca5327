#pragma once
// The nftables text of the proxy's own table, `table inet kite-proxy`, as kube-proxy's
// nftables mode lays it out: verdict maps keyed by `ipv4_addr . inet_proto . inet_service`
// (ClusterIPs, externalIPs, LoadBalancer IPs) and `inet_proto . inet_service` (NodePorts on
// the node's local addresses), a chain per Service port and per endpoint, `numgen random`
// load balancing, a masquerade mark for traffic from outside the cluster CIDR and for
// hairpin, reject for Service ports without endpoints, and ClientIP affinity through dynamic
// sets with a timeout. Pure text: no kernel, unit-tested.
//
// NodePorts answer on the node's local addresses (`fib daddr type local`, within
// --nodeport-addresses when given), 127.0.0.1 included (the dataplane sets route_localnet;
// such flows are masqueraded, and packets from outside addressed to 127/8 are dropped).
// externalTrafficPolicy Local sends external traffic to local endpoints only, unmasqueraded;
// internalTrafficPolicy Local does so for ClusterIP traffic; loadBalancerSourceRanges drop
// other clients before DNAT (`firewall-ips`).

#include <map>
#include <string>
#include <vector>

#include "kite/proxy/desired_state.h"

namespace kite::proxy::nft {

inline constexpr const char* kTable = "kite-proxy";
inline constexpr const char* kFamily = "inet";

struct RulesOptions {
  // Traffic from outside this range is masqueraded; empty: only NodePort, external and
  // hairpin traffic is.
  std::string clusterCidr;
  // --nodeport-addresses: CIDRs of the local addresses NodePorts answer on; empty: all.
  std::vector<std::string> nodePortAddresses{};
};

// True when NodePorts answer on 127.0.0.1 (then route_localnet must be on).
bool localhostNodePorts(const RulesOptions& options);

// The map elements and chains one Service port contributes.
struct ServicePortRender {
  // map name -> "key : verdict" elements.
  std::map<std::string, std::vector<std::string>> elements;
  // chain name -> rules, in order.
  std::map<std::string, std::vector<std::string>> chains;
  // set name -> its definition ("{ type ...; }").
  std::map<std::string, std::string> sets;
};

ServicePortRender renderServicePort(const ServicePortState& port, const RulesOptions& options);

// The whole table from scratch: "add table; delete table; add table ..." so that one
// transaction replaces whatever was there.
std::string renderFull(const DesiredState& state, const RulesOptions& options);

// Only the differences between two states (flush/replace the changed Service ports' chains
// and map elements); "" when nothing changed.
std::string renderChanges(const DesiredState& applied, const DesiredState& next,
                          const RulesOptions& options);

// Removes the table (no error when it does not exist).
std::string renderCleanup();

}  // namespace kite::proxy::nft
