#pragma once
// `kite bench netpol`: at each N policies, kite's nftables NetworkPolicy dataplane
// (table inet kite-netpol) and a plain-iptables baseline (bench_netpol_iptables.h) side by
// side, in the private network of bench_network.h with the client namespace owning
// kPeerCidr (the peer pods' and ipBlocks' addresses).

#include <cstdint>
#include <string>
#include <vector>

#include "bench_measure.h"
#include "bench_network.h"

namespace kite::cmd::bench {

struct NetpolBenchOptions {
  int pods = 100;    // on this node: what the policies select and isolate
  int peers = 2000;  // on other nodes: what rules admit by selector
  int repetitions = 3;
  int connections = 1000;  // allowed connects at each N and backend
  int denied = 100;        // connects that must be refused
  std::string iptablesRestore = "iptables-restore";
  std::uint32_t seed = 1;
};

// One backend at one N. Times are medians over the repetitions.
struct NetpolFigures {
  double fullSyncMs = 0;
  double changeMs = 0;   // one pod relabelled
  double kernelKiB = 0;  // kernel memory removing the rules frees (bench_measure.h's measure)
  std::size_t rules = 0;
  std::size_t setElements = 0;  // nftables only
  double rulesKiB = 0;          // `nft list table inet kite-netpol`, `iptables-save -t filter`
  double rssMiB = 0;            // this process after the full sync (nftables only)
  ConnectLatency allowed;
  int deniedRefused = 0;
  int deniedAttempted = 0;
};

struct NetpolBenchPoint {
  int policies = 0;
  int enforcedPolicies = 0;  // those selecting a pod of this node
  int isolatedPods = 0;
  double computeMs = 0;        // computeState over every object, shared by both backends
  double computeChangeMs = 0;  // the same after one pod's labels changed
  NetpolFigures nftables;
  NetpolFigures iptables;
};

// Gives the client namespace kPeerCidr and routes it from the node; once per network.
void addPeerRoutes(const BenchNetwork& network);

// Measures both backends at `policies` policies; the rules live only in the network's node
// namespace and are removed before it returns.
NetpolBenchPoint measureNetpolPoint(const BenchNetwork& network, int policies,
                                    const NetpolBenchOptions& options,
                                    const std::string& scratchDir);

}  // namespace kite::cmd::bench
