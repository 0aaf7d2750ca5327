#pragma once
// The output of `kite bench netpol`: a Markdown table (rows nftables, iptables and their ratio
// at each N), a second one describing the workload at each N, and a gnuplot plot of the
// curves over N.

#include <ostream>
#include <string>
#include <vector>

#include "bench_netpol.h"

namespace kite::cmd::bench {

void printNetpolTable(std::ostream& out, const std::vector<NetpolBenchPoint>& points,
                      const NetpolBenchOptions& options);

// Draws full sync, one-pod change and connect p50/p99 over N into `file` (.png or .svg) with
// gnuplot; `scratchDir` holds the data and the script. Throws when gnuplot fails.
void plotNetpolCurves(const std::vector<NetpolBenchPoint>& points, const std::string& file,
                      const std::string& scratchDir);

}  // namespace kite::cmd::bench
