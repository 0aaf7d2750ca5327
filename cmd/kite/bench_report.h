#pragma once
// The output of `kite bench proxy`: a Markdown table (rows nftables, iptables and their
// ratio at each N) and a gnuplot plot of the curves over N.

#include <ostream>
#include <string>
#include <vector>

#include "bench_proxy.h"

namespace kite::cmd::bench {

void printProxyTable(std::ostream& out, const std::vector<ProxyBenchPoint>& points,
                     const ProxyBenchOptions& options);

// Draws full sync, one-endpoint change and connect p50/p99 over N into `file` (.png or .svg,
// chosen by its extension) with gnuplot; `scratchDir` holds the data and the script. Throws
// when gnuplot is missing or fails.
void plotProxyCurves(const std::vector<ProxyBenchPoint>& points, const std::string& file,
                     const std::string& scratchDir);

// Throws std::invalid_argument unless `file` ends in .png or .svg.
void checkPlotFile(const std::string& file);

}  // namespace kite::cmd::bench
