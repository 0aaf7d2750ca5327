#pragma once
// The nftables text of the proxy's own table, `table inet kite-proxy`, in the spirit of
// kube-proxy's nftables mode: verdict maps keyed by `ipv4_addr . inet_proto . inet_service`
// (ClusterIPs, externalIPs, LoadBalancer IPs) and `inet_proto . inet_service` (NodePorts on
// the node's local addresses), each with an IPv6 twin named with a "6" (`service-ips6`,
// keyed by `ipv6_addr . ...`; shared chains `cluster6-N`...) for the IPv6 Service ports, `numgen
// random` load balancing, a masquerade mark for traffic from outside the cluster CIDR and for
// hairpin, reject for Service ports without endpoints, and ClientIP affinity through dynamic sets
// with a timeout. Pure text: no kernel, unit-tested.
//
// A plain Service port (no affinity, no Local traffic policy, at most 16 endpoints: nearly
// all of them) owns no chain and no rule, only map elements: its address jumps to a chain
// shared by every port with the same number of endpoints ("cluster-5", made with the table),
// which DNATs through one map keyed by `address . protocol . port . numgen random mod 5`
// (`nodeport-endpoints` for NodePorts).
// Adding one is O(1) for the kernel (a chain or set per Service costs a name or transaction
// walk per reference, quadratic over a full sync) and an endpoint change is a few element
// commands, which libnftables applies without listing the table's chains and rules first.
// Ports with affinity or a Local policy get chains of their own (service-, external-,
// endpoint-), balanced with `numgen random mod k == 0` rules. Hairpin traffic (a pod reaching
// itself through its Service) is found in postrouting by `ip saddr . ip daddr @hairpin`.
//
// NodePorts answer on the node's local addresses (`fib daddr type local`, within
// --nodeport-addresses when given), 127.0.0.1 included (the dataplane sets route_localnet;
// such flows are masqueraded, and packets from outside addressed to 127/8 are dropped).
// externalTrafficPolicy Local sends external traffic to local endpoints only, unmasqueraded;
// internalTrafficPolicy Local does so for ClusterIP traffic; loadBalancerSourceRanges drop
// other clients before DNAT (`firewall-ips`).

#include <cstddef>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "kite/proxy/desired_state.h"

namespace kite::proxy::nft {

inline constexpr const char* kTable = "kite-proxy";
inline constexpr const char* kFamily = "inet";
// Plain ports with up to this many endpoints are balanced by the shared chains; ports with
// more get chains of their own.
inline constexpr std::size_t kSharedChainEndpoints = 16;

struct RulesOptions {
  // Traffic from outside this range is masqueraded; empty: only NodePort, external and
  // hairpin traffic is.
  std::string clusterCidr{};
  // --nodeport-addresses: CIDRs of the local addresses NodePorts answer on; empty: all. Each
  // family uses the CIDRs of its own family, all its addresses when there is none.
  std::vector<std::string> nodePortAddresses{};
  // The IPv6 pod range (the IPv6 half of a dual-stack --cluster-cidr), for IPv6 Service
  // ports as clusterCidr is for IPv4 ones.
  std::string clusterCidrIPv6{};
};

// True when NodePorts answer on 127.0.0.1 (then route_localnet must be on).
bool localhostNodePorts(const RulesOptions& options);

// The map elements and chains one Service port contributes.
struct ServicePortRender {
  // map name -> "key : verdict" elements.
  std::map<std::string, std::vector<std::string>> elements;
  // This port's own chains: name -> rules, in order.
  std::map<std::string, std::vector<std::string>> chains;
  // set name -> its definition ("{ type ...; }").
  std::map<std::string, std::string> sets;
  // Endpoint addresses for the shared `hairpin` set (an address leaves it only when no
  // Service port has it any more).
  std::set<std::string> hairpin;
};

ServicePortRender renderServicePort(const ServicePortState& port, const RulesOptions& options);

// The whole table from scratch: "add table; delete table; add table ..." so that one
// transaction replaces whatever was there.
std::string renderFull(const DesiredState& state, const RulesOptions& options);

// Only the differences between two states (map elements of the changed Service ports, their
// own chains flushed and rewritten); "" when nothing changed.
std::string renderChanges(const DesiredState& applied, const DesiredState& next,
                          const RulesOptions& options);

// The Service ports that differ between two states: `before` has those of `applied` that
// changed or went away, `after` those of `next` that changed or are new.
struct ChangedPorts {
  DesiredState before;
  DesiredState after;
};
ChangedPorts changedPorts(const DesiredState& applied, const DesiredState& next);

// The same from the keys of the ports that may differ (DataPlane::syncChangedKeys): only
// those are looked up and compared, O(keys × log N).
ChangedPorts changedPorts(const DesiredState& applied, const DesiredState& next,
                          const std::vector<std::string>& keys);

// renderChanges from ports already compared; `next` is still needed to keep hairpin
// addresses that an unchanged port has too (a pass over it when an address leaves a port).
std::string renderChanges(const ChangedPorts& changed, const DesiredState& next,
                          const RulesOptions& options);

// How many Service ports have each endpoint address, which decides when an address leaves
// the shared hairpin set. Kept along the syncs, it spares renderChanges the pass over the
// whole next state.
class HairpinCounts {
 public:
  HairpinCounts() = default;
  explicit HairpinCounts(const DesiredState& state) { add(state); }
  void add(const DesiredState& ports);
  void remove(const DesiredState& ports);
  // Whether some port has `address`.
  bool has(const std::string& address) const;
  std::size_t size() const { return ipv4_.size() + other_.size(); }

 private:
  void adjust(const ServicePortState& port, bool add);
  // IPv4 addresses as numbers (a third of the memory of strings: 150k addresses at 30k
  // Services), the others as text.
  std::unordered_map<std::uint32_t, std::uint32_t> ipv4_;
  std::unordered_map<std::string, std::uint32_t> other_;
};

// renderChanges with the counts of the next state (`next` = applied - before + after).
std::string renderChanges(const ChangedPorts& changed, const HairpinCounts& next,
                          const RulesOptions& options);

// Removes the table (no error when it does not exist).
std::string renderCleanup();

}  // namespace kite::proxy::nft
