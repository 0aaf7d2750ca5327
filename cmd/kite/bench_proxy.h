#pragma once
// `kite bench proxy`: at each N, kite's nftables backend and the iptables-mode kube-proxy
// baseline side by side in the private network of bench_network.h.

#include <cstdint>
#include <string>
#include <vector>

#include "bench_measure.h"
#include "bench_network.h"
#include "kite/proxy/desired_state.h"

namespace kite::cmd::bench {

struct ProxyBenchOptions {
  int endpoints = 5;
  int repetitions = 3;
  int connections = 1000;
  std::string iptablesRestore = "iptables-restore";
  std::uint32_t seed = 1;
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
};

struct ProxyBenchPoint {
  int services = 0;
  int endpoints = 0;
  BackendFigures nftables;
  BackendFigures iptables;
};

// N Services "bench/svc-<i>", port 80/TCP, each with `endpoints` endpoints on port 8080.
proxy::DesiredState makeBenchState(int services, int endpoints);

// Measures both backends at `services` Services; the rules live only in the network's node
// namespace and are removed before it returns.
ProxyBenchPoint measureProxyPoint(const BenchNetwork& network, int services,
                                  const ProxyBenchOptions& options, const std::string& scratchDir);

}  // namespace kite::cmd::bench
