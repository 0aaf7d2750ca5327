#pragma once
// The baseline of `kite bench proxy`: the nat table as iptables-mode kube-proxy (1.20) lays it
// out, loaded the way it loads it (one `iptables-restore --noflush` of the whole table per
// sync, also for a one-endpoint change):
//
//   PREROUTING, OUTPUT -> KUBE-SERVICES: per Service port, a KUBE-MARK-MASQ rule for sources
//     outside the cluster CIDR and a jump to its KUBE-SVC-*, one after another (linear)
//   KUBE-SVC-*: `-m statistic --mode random --probability 1/(M-i)` jumps to the KUBE-SEP-*
//   KUBE-SEP-*: hairpin KUBE-MARK-MASQ and `-j DNAT --to-destination IP:PORT`
//   POSTROUTING -> KUBE-POSTROUTING: MASQUERADE of marked traffic
//
// Only the nat table: the filter table kube-proxy also writes holds nothing per Service port
// that has endpoints.

#include <sys/types.h>

#include <string>

#include "kite/proxy/desired_state.h"

namespace kite::cmd::bench {

// The iptables-restore input of a full sync (`*nat` ... `COMMIT`).
std::string renderIptablesNat(const proxy::DesiredState& state, const std::string& clusterCidr);
// The input that empties the nat table and hooks KUBE-SERVICES and KUBE-POSTROUTING into the
// base chains (what kube-proxy does once at start, outside its timed syncs).
std::string renderIptablesBase();
// An input that leaves the nat table empty.
std::string renderIptablesEmpty();

// Runs `program [--noflush] --counters` with `input` on stdin in the calling thread's network
// namespace; throws with its exit status when it fails. `scratchDir` holds the input file.
void iptablesRestore(const std::string& program, const std::string& input,
                     const std::string& scratchDir, bool noflush);

}  // namespace kite::cmd::bench
