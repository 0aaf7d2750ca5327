#pragma once
// The output of `kite bench proxy`: a Markdown table (rows nftables, iptables and their
// ratio at each N) and a gnuplot plot of the curves over N.

#include <array>
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

// What every `kite bench` table and plot shares.
std::string formatFixed(double value, int decimals);
// nftables / iptables as "0.39×" (four decimals below 0.1), "-" without a baseline figure.
std::string formatRatio(double nftables, double iptables);
// One Markdown table row: "| a | b |".
void printTableRow(std::ostream& out, const std::vector<std::string>& cells);

// One N of a plot of kite's nftables backend against the iptables baseline, three panels:
// full sync, one change (ms) and TCP connect p50/p99 (µs), each nftables then iptables.
struct CurvePoint {
  double n = 0;
  std::array<double, 8> values{};  // full nft, ipt; change nft, ipt; p50 nft, ipt; p99 nft, ipt
};
struct CurvePlot {
  std::string name;          // data and script file stem in the scratch folder
  std::string title;         // the whole plot's title
  std::string xLabel;        // what N counts
  std::string changeTitle;   // the second panel's title
  std::string connectTitle;  // the third panel's title
};
// Draws the curves into `file` (.png or .svg) with gnuplot; `scratchDir` holds the data and
// the script. Throws when gnuplot is missing or fails.
void plotAgainstIptables(const CurvePlot& plot, const std::vector<CurvePoint>& points,
                         const std::string& file, const std::string& scratchDir);

}  // namespace kite::cmd::bench
