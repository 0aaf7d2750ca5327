#pragma once
// `kite bench proxy`: at each N, kite's nftables and eBPF backends, the iptables-mode
// kube-proxy baseline and connecting to the pod IP directly, side by side in the private
// network of bench_network.h.

#include <chrono>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "bench_measure.h"
#include "bench_network.h"
#include "kite/proxy/desired_state.h"

namespace kite::cmd::bench {

struct EbpfScratch;  // bench_ebpf.h

struct ProxyBenchOptions {
  int endpoints = 5;
  int repetitions = 3;
  int connections = 1000;
  std::string iptablesRestore = "iptables-restore";
  std::uint32_t seed = 1;
  // --mode: nftables (with the iptables baseline), ebpf (with the baseline and direct
  // connects to the pod IP) or all.
  bool nftables = true;
  bool ebpf = true;
  // The iptables baseline only at N up to this (0: every N); its restores take minutes at 10k.
  int iptablesUpTo = 0;
  // `wrk` runs a backend and N (0: none), with this many connections.
  int wrkSeconds = 3;
  int wrkConnections = 16;
};

// One backend at one N. Times are medians over the repetitions.
struct BackendFigures {
  double fullSyncMs = 0;
  double endpointChangeMs = 0;
  double kernelKiB = 0;  // kernel memory the rules took (bench_measure.h)
  double rulesKiB = 0;   // the listing of the rules (`nft list table`, `iptables-save -t nat`)
  // This process after the full sync (nftables only: the baseline has no process of its own;
  // a child's peak RSS is not measurable here, exec keeps the forking parent's high-water mark).
  double rssMiB = 0;
  ConnectLatency latency;
  // Short-lived connections through the ClusterIP of one Service (direct: to its pod IP).
  std::optional<WrkResult> wrk;
};

// `--proxy-mode ebpf` as deployed: the socket programs and the nftables table for traffic
// from outside (`northSouth`), whose NAT hooks put conntrack in the path of every forwarded
// packet, also of connections the programs translated.
struct NorthSouthFigures {
  WrkResult nodePort;   // from outside the node to the node's address:NodePort
  WrkResult clusterIP;  // from a pod in the cgroup through the ClusterIP (socket programs)
  ConnectLatency clusterConnect;
};

struct ProxyBenchPoint {
  int services = 0;
  int endpoints = 0;
  std::optional<BackendFigures> nftables;
  std::optional<BackendFigures> iptables;
  std::optional<BackendFigures> ebpf;
  std::optional<BackendFigures> direct;  // connects and wrk to the pod IP, no Service
  // Connects to the pod IP from the bench's cgroup with the eBPF programs attached: the path a
  // pod's direct connect takes on a node running --proxy-mode ebpf (the Service lookup misses).
  std::optional<BackendFigures> directAttached;
  std::optional<NorthSouthFigures> northSouth;
};

// N Services "bench/svc-<i>", port 80/TCP, each with `endpoints` endpoints on port 8080.
proxy::DesiredState makeBenchState(int services, int endpoints);

// The helpers every backend's measurement shares.
template <class Fn>
double millisecondsOf(Fn&& fn) {
  const auto start = std::chrono::steady_clock::now();
  fn();
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
      .count();
}
// Lets the kernel finish freeing a removed ruleset (nf_tables frees after an RCU grace period
// on a worker) so that it does not count against the next measurement.
void settle();
// `state` with one endpoint of one random Service replaced by a fresh address, as when a pod
// is replaced. `fresh` numbers the new addresses (beyond those makeBenchState used).
// `changedKey` (when given) receives the key of the port that changed, for
// Dataplane::syncChangedKeys: what the Proxy hands over after one EndpointSlice event.
proxy::DesiredState withOneEndpointChanged(const proxy::DesiredState& state, int fresh,
                                           std::mt19937& random, std::string* changedKey = nullptr);

// Measures the backends `options` selects at `services` Services; the rules live only in the
// network's node namespace (the eBPF programs only in the bench's own cgroup, bench_ebpf.h) and are
// removed before it returns. `ebpf` is required when options.ebpf is set.
ProxyBenchPoint measureProxyPoint(const BenchNetwork& network, int services,
                                  const ProxyBenchOptions& options, const std::string& scratchDir,
                                  const EbpfScratch* ebpf);

}  // namespace kite::cmd::bench
