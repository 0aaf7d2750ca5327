#pragma once
// NetworkPolicy enforcement, step two: a netpol::State (network_policy_state.h) -> the text of
// kite's own table `table inet kite-netpol`, separate from kite-proxy so each is flushed and
// cleaned on its own. Pure text, no kernel and no client: state in, text out (what
// `kite bench netpol` and the unit tests drive); NetworkPolicyController applies it through
// libnftables, one atomic `nft -f` buffer per sync.
//
// Layout (per-packet cost and sync cost grow with the rules that concern each pod, not with
// the number of named sets: the kernel looks sets up by name with a walk of the table's list,
// so a set per policy and rule made a sync quadratic in the policies). Dual-stack as the
// Service table: IPv4 and IPv6 twins of each map and set, the IPv6 one named with a "6".
//   map ingress-pods / egress-pods    this node's pods' IPv4 addresses some policy isolates
//         -> jump to the chain of the pod's class (ipv4_addr : verdict)
//   map ingress-pods6 / egress-pods6  the same for their IPv6 addresses (ipv6_addr : verdict)
//   chain forward-egress  (hook forward, priority filter)      established,related accept;
//         IPv6 neighbour solicitations/advertisements accept (untracked, and needed before
//         any traffic between pods on a bridge); ip saddr vmap @egress-pods;
//         ip6 saddr vmap @egress-pods6
//   chain forward-ingress (hook forward, priority filter + 1)  the same with daddr and the
//         ingress maps
//   A class is the pods isolated by the same policies (and, for ingress, with the same
//   numbers behind the named ports those rules use); both addresses of a dual-stack pod are
//   in the same class. Its name is "in-" / "eg-" and 16 hex digits of a hash of that, so it
//   stays while only the peers change. Per class:
//   chain in-<hash>:
//         ip saddr @in-<hash>-all accept        IPv4 peers that rules without ports allow
//         ip saddr . meta l4proto . th dport @in-<hash>-ports accept
//         ip6 saddr @in-<hash>-all6 accept      the same for IPv6 peers
//         ip6 saddr . meta l4proto . th dport @in-<hash>-ports6 accept
//         then reject (TCP reset, ICMP admin-prohibited): nothing allowed it
//   set in-<hash>-all    ipv4_addr, interval
//   set in-<hash>-ports  ipv4_addr . inet_proto . inet_service, interval: the union of every
//         rule's peers x ports, cut into elements that do not overlap (the kernel refuses
//         overlapping concatenated ranges); named ports resolved on the pod for ingress, on
//         the peer for egress
//   set in-<hash>-all6, in-<hash>-ports6  their ipv6_addr twins
//   A family's two sets and two rules exist only when the class has pods of that family (the
//   peer of a packet is of the family of the pod's address it matched), so an IPv4-only
//   cluster's table has no IPv6 sets beyond the two empty maps. An ipBlock of one family
//   lands in that family's sets only, so it never matches the other family's traffic.
// Two base chains, so an accept by the egress side still leaves the packet to the ingress
// side (an accept ends only its own base chain). Pod-to-pod traffic on one bridge passes the
// inet forward hook because br_netfilter is on (bridge-nf-call-iptables and, for IPv6,
// bridge-nf-call-ip6tables). Traffic of the node itself to and from its pods (input/output)
// is never filtered, as upstream requires.
//
// Incremental syncs diff two renders: new sets and chains are added, changed sets get element
// adds/deletes, changed chains are flushed and refilled, and gone ones deleted; the rest of
// the table is not written.

#include <map>
#include <string>
#include <vector>

#include "kite/proxy/network_policy_state.h"

namespace kite::proxy::netpol::nft {

inline constexpr const char* kTable = "kite-netpol";
inline constexpr const char* kFamily = "inet";

struct SetDef {
  std::string type;  // "ipv4_addr", "ipv6_addr : verdict", ...
  bool interval = false;
  bool map = false;                   // a verdict map: elements are "KEY : VERDICT"
  std::vector<std::string> elements;  // sorted, unique
  bool operator==(const SetDef&) const = default;
};

// Every set and non-base chain a state needs, by name.
struct Ruleset {
  std::map<std::string, SetDef> sets;
  std::map<std::string, std::vector<std::string>> chains;
};

// The chain the map of `direction` ("ingress", "egress") and of podIP's family sends `podIP`
// (canonical text) to, or "" when the address is not isolated that way; its sets are that
// name plus "-all" and "-ports" (and "6" for the IPv6 twins).
std::string podChain(const Ruleset& ruleset, const std::string& direction,
                     const std::string& podIP);

Ruleset render(const State& state);
// The whole table: "add table; delete table; add table ..." so that one transaction replaces
// whatever was there.
std::string renderFull(const State& state);
// Only what differs between two states; "" when nothing does.
std::string renderChanges(const State& applied, const State& next);
// Removes the table (no error when it does not exist).
std::string renderCleanup();

}  // namespace kite::proxy::netpol::nft
