#pragma once
// NetworkPolicy enforcement, step two: a netpol::State (network_policy_state.h) -> the text of
// kite's own table `table inet kite-netpol`, separate from kite-proxy so each is flushed and
// cleaned on its own. Pure text, no kernel and no client: state in, text out (what
// `kite bench netpol` and the unit tests drive); NetworkPolicyController applies it through
// libnftables, one atomic `nft -f` buffer per sync.
//
// Layout (per-packet cost and sync cost grow with the rules that concern each pod, not with
// the number of named sets: the kernel looks sets up by name with a walk of the table's list,
// so a set per policy and rule made a sync quadratic in the policies):
//   map ingress-pods / egress-pods   this node's pods some policy isolates -> jump to the
//         chain of the pod's class (ipv4_addr : verdict)
//   chain forward-egress  (hook forward, priority filter)      established,related accept;
//         ip saddr vmap @egress-pods
//   chain forward-ingress (hook forward, priority filter + 1)  established,related accept;
//         ip daddr vmap @ingress-pods
//   A class is the pods isolated by the same policies (and, for ingress, with the same
//   numbers behind the named ports those rules use); its name is "in-" / "eg-" and 16 hex
//   digits of a hash of that, so it stays while only the peers change. Per class:
//   chain in-<hash>:
//         peer @in-<hash>-all accept        peers that rules without ports allow
//         peer . meta l4proto . th dport @in-<hash>-ports accept
//         then reject (TCP reset, ICMP admin-prohibited): nothing allowed it
//   set in-<hash>-all    ipv4_addr, interval
//   set in-<hash>-ports  ipv4_addr . inet_proto . inet_service, interval: the union of every
//         rule's peers x ports, cut into elements that do not overlap (the kernel refuses
//         overlapping concatenated ranges); named ports resolved on the pod for ingress, on
//         the peer for egress
// Two base chains, so an accept by the egress side still leaves the packet to the ingress
// side (an accept ends only its own base chain). Pod-to-pod traffic on one bridge passes the
// inet forward hook because br_netfilter is on. Traffic of the node itself to and from its
// pods (input/output) is never filtered, as upstream requires.
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
  std::string type;  // "ipv4_addr", "ipv4_addr : verdict", ...
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

// The chain the map of `direction` ("ingress", "egress") sends `podIP` to, or "" when the pod
// is not isolated that way; its sets are that name plus "-all" and "-ports".
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
