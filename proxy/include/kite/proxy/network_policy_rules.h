#pragma once
// NetworkPolicy enforcement, step two: a netpol::State (network_policy_state.h) -> the text of
// kite's own table `table inet kite-netpol`, separate from kite-proxy so each is flushed and
// cleaned on its own. Pure text, no kernel and no client: state in, text out (what
// `kite bench netpol` and the unit tests drive); NetworkPolicyController applies it through
// libnftables, one atomic `nft -f` buffer per sync.
//
// Layout (per-packet cost grows with the policies selecting a pod, not with pods x rules):
//   set ingress-isolated / egress-isolated   this node's pods some policy isolates
//   chain forward-egress  (hook forward, priority filter)      established,related accept;
//         saddr in egress-isolated  -> jump egress-policies
//   chain forward-ingress (hook forward, priority filter + 1)  established,related accept;
//         daddr in ingress-isolated -> jump ingress-policies
//   chain ingress-policies / egress-policies: per policy "addr @np-ID-<dir>-pods jump
//         np-ID-<dir>", then reject (TCP reset, ICMP admin-prohibited): nothing allowed it
//   chain np-ID-<dir>: per rule "peer @np-ID-<dir>-N-peers  proto . port @...-ports  accept"
//         (and "daddr . proto . port @...-named" for named ports resolved per pod)
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
  std::string type;  // "ipv4_addr", "inet_proto . inet_service", ...
  bool interval = false;
  std::vector<std::string> elements;  // sorted, unique
  bool operator==(const SetDef&) const = default;
};

// Every set and non-base chain a state needs, by name.
struct Ruleset {
  std::map<std::string, SetDef> sets;
  std::map<std::string, std::vector<std::string>> chains;
};

// "np-" and 16 hex digits of a hash of "namespace/name": stable, short, valid nft names.
std::string policyId(const std::string& key);

Ruleset render(const State& state);
// The whole table: "add table; delete table; add table ..." so that one transaction replaces
// whatever was there.
std::string renderFull(const State& state);
// Only what differs between two states; "" when nothing does.
std::string renderChanges(const State& applied, const State& next);
// Removes the table (no error when it does not exist).
std::string renderCleanup();

}  // namespace kite::proxy::netpol::nft
