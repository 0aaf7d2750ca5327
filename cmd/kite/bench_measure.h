#pragma once
// What `kite bench proxy` measures besides sync times: TCP connect latency through
// ClusterIPs from the client namespace, kernel memory, and this process's RSS.

#include <cstdint>
#include <string>
#include <vector>

namespace kite::cmd::bench {

struct ConnectLatency {
  double p50Us = 0;
  double p99Us = 0;
  int succeeded = 0;
  int attempted = 0;
};

// `count` TCP connects from the namespace at `clientNsPath` to the ClusterIPs of random
// Services (0..services-1, the same sequence for the same seed), each timed from connect()
// until established and then reset. Runs on a thread of its own (setns is per thread).
ConnectLatency measureConnects(const std::string& clientNsPath, int services, int count,
                               std::uint32_t seed);

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
