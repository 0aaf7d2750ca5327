// The tables and the plot of `kite bench netpol` (bench_netpol_report.h).

#include "bench_netpol_report.h"

#include <array>
#include <cstdio>
#include <fstream>
#include <stdexcept>

#include "bench_report.h"

namespace kite::cmd::bench {

namespace {

std::vector<std::string> figuresRow(const NetpolBenchPoint& p, const char* backend,
                                    const NetpolFigures& f) {
  return {std::to_string(p.policies),
          backend,
          formatFixed(f.fullSyncMs, 2),
          formatFixed(f.changeMs, 2),
          formatFixed(f.kernelKiB, 0),
          std::to_string(f.rules),
          f.setElements > 0 ? std::to_string(f.setElements) : "-",
          formatFixed(f.rulesKiB, 0),
          f.rssMiB > 0 ? formatFixed(f.rssMiB, 1) : "-",
          formatFixed(f.allowed.p50Us, 1),
          formatFixed(f.allowed.p99Us, 1),
          std::to_string(f.allowed.succeeded) + "/" + std::to_string(f.allowed.attempted),
          std::to_string(f.deniedRefused) + "/" + std::to_string(f.deniedAttempted)};
}

}  // namespace

void printNetpolTable(std::ostream& out, const std::vector<NetpolBenchPoint>& points,
                      const NetpolBenchOptions& options) {
  out << "kite bench netpol: " << options.pods << " pods on this node, " << options.peers
      << " peer pods elsewhere, medians of " << options.repetitions << " repetitions, "
      << options.connections << " allowed and " << options.denied
      << " denied connects a backend; RSS: this kite process after the full sync; baseline "
         "loader: "
      << options.iptablesRestore << "\n\n";
  printTableRow(out, {"policies", "backend", "full sync ms", "1-pod change ms", "kernel KiB",
                      "rules", "set elements", "rules KiB", "RSS MiB", "connect p50 µs",
                      "connect p99 µs", "allowed ok", "denied refused"});
  printTableRow(out, {"---:", "---", "---:", "---:", "---:", "---:", "---:", "---:", "---:", "---:",
                      "---:", "---:", "---:"});
  for (const auto& p : points) {
    printTableRow(out, figuresRow(p, "nftables", p.nftables));
    printTableRow(out, figuresRow(p, "iptables", p.iptables));
    const auto& n = p.nftables;
    const auto& i = p.iptables;
    printTableRow(
        out,
        {std::to_string(p.policies), "nftables/iptables", formatRatio(n.fullSyncMs, i.fullSyncMs),
         formatRatio(n.changeMs, i.changeMs), formatRatio(n.kernelKiB, i.kernelKiB),
         formatRatio(static_cast<double>(n.rules), static_cast<double>(i.rules)), "-",
         formatRatio(n.rulesKiB, i.rulesKiB), "-", formatRatio(n.allowed.p50Us, i.allowed.p50Us),
         formatRatio(n.allowed.p99Us, i.allowed.p99Us), "-", "-"});
  }
  out << "\nThe policies' state (computeState over every object; both backends start from it, "
         "so it is not in their sync times):\n\n";
  printTableRow(out, {"policies", "enforced here", "isolated pods", "computeState ms",
                      "computeState after 1-pod change ms"});
  printTableRow(out, {"---:", "---:", "---:", "---:", "---:"});
  for (const auto& p : points) {
    printTableRow(out, {std::to_string(p.policies), std::to_string(p.enforcedPolicies),
                        std::to_string(p.isolatedPods), formatFixed(p.computeMs, 2),
                        formatFixed(p.computeChangeMs, 2)});
  }
  out.flush();
}

void plotNetpolCurves(const std::vector<NetpolBenchPoint>& points, const std::string& file,
                      const std::string& scratchDir) {
  std::vector<CurvePoint> curves;
  for (const auto& p : points) {
    const auto& n = p.nftables;
    const auto& i = p.iptables;
    curves.push_back({static_cast<double>(p.policies),
                      {n.fullSyncMs, i.fullSyncMs, n.changeMs, i.changeMs, n.allowed.p50Us,
                       i.allowed.p50Us, n.allowed.p99Us, i.allowed.p99Us}});
  }
  plotAgainstIptables({.name = "netpol",
                       .title = "kite bench netpol: nftables (kite) vs plain iptables (chain per "
                                "pod and policy)",
                       .xLabel = "NetworkPolicies",
                       .changeTitle = "one pod relabelled",
                       .connectTitle = "TCP connect to an isolated pod, allowed"},
                      curves, file, scratchDir);
}

}  // namespace kite::cmd::bench
