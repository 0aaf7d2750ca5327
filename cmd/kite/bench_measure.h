#pragma once
// What `kite bench proxy` measures besides sync times: TCP connect latency through
// ClusterIPs from the client namespace, kernel memory, and this process's RSS.

#include <cstdint>
#include <string>
#include <vector>

#include "bench_network.h"

namespace kite::cmd::bench {

struct ConnectLatency {
  double p50Us = 0;
  double p99Us = 0;
  int succeeded = 0;
  int attempted = 0;
};

// Where measureConnects connects and from which process.
struct ConnectOptions {
  // false: the ClusterIP of the Service, port 80; true: one of the Service's endpoints at
  // random (index × endpoints + 0..endpoints-1, the addresses a translation picks from), port
  // 8080, with no Service in between (the baseline of the eBPF dataplane's translation).
  bool direct = false;
  int endpoints = 1;
  // A cgroup v2 directory the connecting process joins first ("" none): the eBPF programs
  // only see the sockets of processes inside the cgroup they are attached to.
  std::string cgroup;
};

// `count` TCP connects from the network's client namespace to random Services
// (0..services-1, the same sequence for the same seed), each timed from connect() until
// established and then reset, after network.forgetConnections(). Runs in a forked child of its own
// (setns is per thread, a cgroup holds whole processes), which never touches this process's
// namespaces or cgroup.
ConnectLatency measureConnects(const BenchNetwork& network, int services, int count,
                               std::uint32_t seed, const ConnectOptions& options = {});

// Short-lived HTTP requests (`wrk -H 'Connection: close'`, one connection a request) against
// `url` from the namespace at `clientNsPath`, inside `cgroup` unless "".
struct WrkResult {
  double requestsPerSecond = 0;
  long long requests = 0;
  long long errors = 0;  // socket errors and non-2xx answers
};
WrkResult runWrk(const std::string& clientNsPath, const std::string& cgroup, const std::string& url,
                 int seconds, int connections);
// `runs` runs of runWrk from the network's client namespace, each after
// network.forgetConnections(); the one with the median requests/s, with the errors of all.
WrkResult runWrkMedian(const BenchNetwork& network, const std::string& cgroup,
                       const std::string& url, int seconds, int connections, int runs);
// True when `wrk` is on the PATH.
bool haveWrk();

// The memory the kernel charges for the BPF maps pinned in `pinDir` (the `memlock` of each
// map's fdinfo, i.e. its full preallocated capacity), KiB.
double bpfMapMemoryKiB(const std::string& pinDir);

// Kernel memory in KiB where rules live: slab objects (/proc/slabinfo, root only), vmalloc
// and per-CPU areas. It is the whole machine's, so other activity is noise; callers take
// medians.
double kernelMemoryKiB();
// VmRSS of this process, MiB.
double residentMiB();

// The p-th percentile (0..100, nearest rank) of unsorted values; 0 for none.
double percentile(std::vector<double> values, double p);
inline double median(std::vector<double> values) { return percentile(std::move(values), 50); }

}  // namespace kite::cmd::bench
