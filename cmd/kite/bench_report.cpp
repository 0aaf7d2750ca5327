// The table and the plot of `kite bench proxy` (bench_report.h).

#include "bench_report.h"

#include <array>
#include <cstdio>
#include <fstream>
#include <stdexcept>

namespace kite::cmd::bench {

namespace {

std::vector<std::string> figuresRow(const ProxyBenchPoint& p, const char* backend,
                                    const BackendFigures& f) {
  return {std::to_string(p.services),
          std::to_string(p.endpoints),
          backend,
          formatFixed(f.fullSyncMs, 2),
          formatFixed(f.endpointChangeMs, 2),
          formatFixed(f.kernelKiB, 0),
          formatFixed(f.rulesKiB, 0),
          f.rssMiB > 0 ? formatFixed(f.rssMiB, 1) : "-",
          formatFixed(f.latency.p50Us, 1),
          formatFixed(f.latency.p99Us, 1),
          std::to_string(f.latency.succeeded) + "/" + std::to_string(f.latency.attempted)};
}

}  // namespace

void printProxyTable(std::ostream& out, const std::vector<ProxyBenchPoint>& points,
                     const ProxyBenchOptions& options) {
  out << "kite bench proxy: " << options.endpoints << " endpoints a Service, medians of "
      << options.repetitions << " repetitions, " << options.connections
      << " connects a backend; RSS: this kite process after the full sync; baseline loader: "
      << options.iptablesRestore << "\n\n";
  printTableRow(out, {"services", "endpoints", "backend", "full sync ms", "1-endpoint change ms",
                      "kernel KiB", "rules KiB", "RSS MiB", "connect p50 µs", "connect p99 µs",
                      "connects ok"});
  printTableRow(
      out, {"---:", "---:", "---", "---:", "---:", "---:", "---:", "---:", "---:", "---:", "---:"});
  for (const auto& p : points) {
    printTableRow(out, figuresRow(p, "nftables", p.nftables));
    printTableRow(out, figuresRow(p, "iptables", p.iptables));
    const auto& n = p.nftables;
    const auto& i = p.iptables;
    printTableRow(out, {std::to_string(p.services), std::to_string(p.endpoints),
                        "nftables/iptables", formatRatio(n.fullSyncMs, i.fullSyncMs),
                        formatRatio(n.endpointChangeMs, i.endpointChangeMs),
                        formatRatio(n.kernelKiB, i.kernelKiB), formatRatio(n.rulesKiB, i.rulesKiB),
                        "-", formatRatio(n.latency.p50Us, i.latency.p50Us),
                        formatRatio(n.latency.p99Us, i.latency.p99Us), "-"});
  }
  out.flush();
}

void checkPlotFile(const std::string& file) {
  if (!file.ends_with(".png") && !file.ends_with(".svg")) {
    throw std::invalid_argument("--plot: \"" + file + "\" must end in .png or .svg");
  }
}

void plotProxyCurves(const std::vector<ProxyBenchPoint>& points, const std::string& file,
                     const std::string& scratchDir) {
  std::vector<CurvePoint> curves;
  for (const auto& p : points) {
    const auto& n = p.nftables;
    const auto& i = p.iptables;
    curves.push_back({static_cast<double>(p.services),
                      {n.fullSyncMs, i.fullSyncMs, n.endpointChangeMs, i.endpointChangeMs,
                       n.latency.p50Us, i.latency.p50Us, n.latency.p99Us, i.latency.p99Us}});
  }
  plotAgainstIptables(
      {.name = "proxy",
       .title = "kite bench proxy: nftables (kite) vs iptables (kube-proxy layout), " +
                std::to_string(points.empty() ? 0 : points.front().endpoints) +
                " endpoints a Service",
       .xLabel = "Services",
       .changeTitle = "one endpoint changed",
       .connectTitle = "TCP connect through a ClusterIP"},
      curves, file, scratchDir);
}

std::string formatFixed(double value, int decimals) {
  std::array<char, 64> text{};
  std::snprintf(text.data(), text.size(), "%.*f", decimals, value);
  return text.data();
}

std::string formatRatio(double nftables, double iptables) {
  if (iptables <= 0) return "-";
  return formatFixed(nftables / iptables, nftables / iptables < 0.1 ? 4 : 2) + "×";
}

void printTableRow(std::ostream& out, const std::vector<std::string>& cells) {
  out << "|";
  for (const auto& c : cells) out << " " << c << " |";
  out << "\n";
}

void plotAgainstIptables(const CurvePlot& plot, const std::vector<CurvePoint>& points,
                         const std::string& file, const std::string& scratchDir) {
  checkPlotFile(file);
  const std::string data = scratchDir + "/" + plot.name + ".dat";
  const std::string script = scratchDir + "/" + plot.name + ".gp";
  {
    std::ofstream out(data);
    out << "# n nft_full ipt_full nft_change ipt_change nft_p50 ipt_p50 nft_p99 ipt_p99\n";
    for (const auto& p : points) {
      out << p.n;
      for (const double v : p.values) out << " " << v;
      out << "\n";
    }
  }
  {
    std::ofstream out(script);
    out << (file.ends_with(".svg") ? "set terminal svg size 1500,450 dynamic\n"
                                   : "set terminal pngcairo size 1500,450\n")
        << "set output '" << file << "'\n"
        << "set multiplot layout 1,3 title '" << plot.title << "'\n"
        << "set logscale x\nset xlabel '" << plot.xLabel << "'\nset key top left\nset grid\n"
        << "set logscale y\nset ylabel 'ms'\nset title 'full sync'\n"
        << "plot '" << data << "' using 1:2 with linespoints title 'nftables', '' using 1:3 "
        << "with linespoints title 'iptables'\n"
        << "set title '" << plot.changeTitle << "'\n"
        << "plot '" << data << "' using 1:4 with linespoints title 'nftables', '' using 1:5 "
        << "with linespoints title 'iptables'\n"
        << "set title '" << plot.connectTitle << "'\nset ylabel 'µs'\n"
        << "plot '" << data << "' using 1:6 with linespoints title 'nftables p50', '' using 1:7 "
        << "with linespoints title 'iptables p50', '' using 1:8 with linespoints title "
        << "'nftables p99', '' using 1:9 with linespoints title 'iptables p99'\n"
        << "unset multiplot\n";
  }
  const std::string command = "gnuplot '" + script + "' 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) throw std::runtime_error("cannot run gnuplot");
  std::string output;
  std::array<char, 4096> buffer{};
  while (const auto n = std::fread(buffer.data(), 1, buffer.size(), pipe)) {
    output.append(buffer.data(), n);
  }
  if (pclose(pipe) != 0) {
    throw std::runtime_error("gnuplot failed (install gnuplot-nox for --plot): " + output);
  }
}

}  // namespace kite::cmd::bench
