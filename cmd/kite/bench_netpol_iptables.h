#pragma once
// The baseline of `kite bench netpol`: the same netpol::State enforced with plain iptables, laid
// out as iptables-based policy engines lay out their filter table, without ipset (every
// address is a rule of its own), and loaded as they load it: the whole filter table in one
// `iptables-restore` per sync, also for a one-pod change.
//
//   FORWARD -> KITE-NP-FORWARD: established,related accept; then one rule per isolated pod,
//     one after another (linear): `-s POD -j KITE-POD-EG-*` (egress-isolated pods) and
//     `-d POD -j KITE-POD-IN-*` (ingress-isolated pods)
//   KITE-POD-IN-* (per pod): per policy selecting the pod, a jump to that policy's chain and
//     `-m mark --mark 0x10000/0x10000 -j RETURN` (allowed: stop looking); at the end
//     REJECT (tcp-reset for TCP, icmp-admin-prohibited otherwise). KITE-POD-EG-* alike with
//     mark 0x20000, so an egress allow still leaves the packet to the ingress side.
//   KITE-NWP-*-IN / -EG (per policy and direction): per rule, per peer CIDR (ranges split into
//     CIDRs), per port or port range: `-s CIDR -p tcp -m tcp --dport A:B -j MARK --set-xmark`;
//     named ports resolved per pod add `-d POD` with that pod's number.
//
// Chain names are a prefix and 16 characters of a hash of the pod address or policy key.

#include <string>

#include "kite/proxy/network_policy_state.h"

namespace kite::cmd::bench {

// The iptables-restore input that replaces the filter table with `state`'s rules.
std::string renderIptablesFilter(const proxy::netpol::State& state);
// An input that leaves the filter table empty.
std::string renderIptablesFilterEmpty();
// How many rules (-A lines) an input holds.
std::size_t countRules(const std::string& input);

}  // namespace kite::cmd::bench
