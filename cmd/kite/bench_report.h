#pragma once
// The output of `kite bench proxy`: a Markdown table (at each N a row per backend measured,
// direct connects to the pod IP, and the ratios nftables/iptables, ebpf/direct and
// ebpf/nftables), a north-south table (NodePort against the pod IP), and a gnuplot plot of
// the curves over N.

#include <array>
#include <ostream>
#include <string>
#include <vector>

#include "bench_proxy.h"

namespace kite::cmd::bench {

void printProxyTable(std::ostream& out, const std::vector<ProxyBenchPoint>& points,
                     const ProxyBenchOptions& options);

// Draws full sync, one-endpoint change, connect p50/p99 and wrk requests/s over N, a line per
// backend, into `file` (.png or .svg,
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

// Panels of any number of curves over a shared N (NaN: no figure at that N, the line breaks).
struct Curve {
  std::string title;
  std::vector<double> values;  // one a point of `n`
};
struct Panel {
  std::string title;
  std::string yLabel;
  bool logY = true;
  std::vector<Curve> curves;
};
// One row of panels into `file` (.png or .svg); `name` is the data and script file stem in
// `scratchDir`. Throws when gnuplot is missing or fails.
void plotPanels(const std::string& name, const std::string& title, const std::string& xLabel,
                const std::vector<double>& n, const std::vector<Panel>& panels,
                const std::string& file, const std::string& scratchDir);
// Runs gnuplot on `script`; throws with its output when it fails.
void runGnuplot(const std::string& script);

}  // namespace kite::cmd::bench
