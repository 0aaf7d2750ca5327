#pragma once
// The eBPF half of `kite bench proxy` (--mode ebpf or all): kite's EbpfDataplane attached to
// a cgroup v2 child the bench makes, with its maps pinned in a bpffs directory of its own, so
// only the bench's own client processes (moved into that cgroup after fork) are translated;
// the host's sockets never are. Both are removed when the bench ends.

#include <string>

#include "bench_measure.h"
#include "bench_network.h"
#include "bench_proxy.h"
#include "kite/proxy/desired_state.h"

namespace kite::cmd::bench {

// <cgroup v2 root>/kite-bench-<pid>; removed (once its processes have gone) on destruction.
class BenchCgroup {
 public:
  BenchCgroup();
  ~BenchCgroup();
  BenchCgroup(const BenchCgroup&) = delete;
  BenchCgroup& operator=(const BenchCgroup&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// /sys/fs/bpf/kite-bench-<pid> (bpffs mounted when missing); everything pinned there is
// unpinned (programs detached) on destruction.
class BenchPinDir {
 public:
  BenchPinDir();
  ~BenchPinDir();
  BenchPinDir(const BenchPinDir&) = delete;
  BenchPinDir& operator=(const BenchPinDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Both, for the run.
struct EbpfScratch {
  BenchCgroup cgroup;
  BenchPinDir pins;
};

// The service `wrk` loads: the middle one of N (neither first nor last in any list).
inline int wrkServiceOf(int services) { return services / 2; }
// `http://<ClusterIP of the wrk Service>:80/` and the same Service's first endpoint, direct.
std::string wrkClusterUrl(int services);
std::string wrkDirectUrl(int services, int endpoints);

// Connects and `wrk` straight to the pod IP, no Service in between and no rules in the node
// (the baseline of the socket-level translation).
BackendFigures measureDirect(const BenchNetwork& network, int services, int endpoints,
                             const ProxyBenchOptions& options);

// EbpfDataplane with socket-level translation only (`northSouth` off): R full syncs onto
// freshly loaded, empty maps (kernel KiB counts from before the load), R one-endpoint
// changes, the pinned maps' memory (`rulesKiB`), this process's RSS, then connects and `wrk`
// through the ClusterIP from processes inside `cgroup`, and connects to the pod IP from there
// with the programs still attached (`directAttached`). Call in the node namespace.
struct EbpfFigures {
  BackendFigures ebpf;
  BackendFigures directAttached;
};
EbpfFigures measureEbpf(const BenchNetwork& network, const proxy::DesiredState& state, int services,
                        int endpoints, const ProxyBenchOptions& options,
                        const EbpfScratch& scratch);

// EbpfDataplane with its nftables table (`northSouth`, as `--proxy-mode ebpf` runs) and the
// wrk Service given NodePort kNodePort: `wrk` from the client namespace playing a host outside
// the node (not in the cgroup) to the node's address:NodePort, then connects and `wrk` through
// the ClusterIP from processes in the cgroup, with the table's conntrack in the path.
inline constexpr int kNodePort = 30080;
NorthSouthFigures measureNorthSouth(const BenchNetwork& network, const proxy::DesiredState& state,
                                    int services, const ProxyBenchOptions& options,
                                    const EbpfScratch& scratch);

}  // namespace kite::cmd::bench
