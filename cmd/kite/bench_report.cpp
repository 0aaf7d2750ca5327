// The table and the plot of `kite bench proxy` (bench_report.h).

#include "bench_report.h"

#include <array>
#include <cstdio>
#include <fstream>
#include <stdexcept>

namespace kite::cmd::bench {

namespace {

std::string fixed(double value, int decimals) {
  std::array<char, 64> text{};
  std::snprintf(text.data(), text.size(), "%.*f", decimals, value);
  return text.data();
}

std::string ratio(double nftables, double iptables) {
  if (iptables <= 0) return "-";
  return fixed(nftables / iptables, nftables / iptables < 0.1 ? 4 : 2) + "×";
}

void row(std::ostream& out, const std::vector<std::string>& cells) {
  out << "|";
  for (const auto& c : cells) out << " " << c << " |";
  out << "\n";
}

std::vector<std::string> figuresRow(const ProxyBenchPoint& p, const char* backend,
                                    const BackendFigures& f) {
  return {std::to_string(p.services),
          std::to_string(p.endpoints),
          backend,
          fixed(f.fullSyncMs, 2),
          fixed(f.endpointChangeMs, 2),
          fixed(f.kernelKiB, 0),
          fixed(f.rulesKiB, 0),
          f.rssMiB > 0 ? fixed(f.rssMiB, 1) : "-",
          fixed(f.latency.p50Us, 1),
          fixed(f.latency.p99Us, 1),
          std::to_string(f.latency.succeeded) + "/" + std::to_string(f.latency.attempted)};
}

}  // namespace

void printProxyTable(std::ostream& out, const std::vector<ProxyBenchPoint>& points,
                     const ProxyBenchOptions& options) {
  out << "kite bench proxy: " << options.endpoints << " endpoints a Service, medians of "
      << options.repetitions << " repetitions, " << options.connections
      << " connects a backend; RSS: this kite process after the full sync; baseline loader: "
      << options.iptablesRestore << "\n\n";
  row(out,
      {"services", "endpoints", "backend", "full sync ms", "1-endpoint change ms", "kernel KiB",
       "rules KiB", "RSS MiB", "connect p50 µs", "connect p99 µs", "connects ok"});
  row(out, {"---:", "---:", "---", "---:", "---:", "---:", "---:", "---:", "---:", "---:", "---:"});
  for (const auto& p : points) {
    row(out, figuresRow(p, "nftables", p.nftables));
    row(out, figuresRow(p, "iptables", p.iptables));
    const auto& n = p.nftables;
    const auto& i = p.iptables;
    row(out,
        {std::to_string(p.services), std::to_string(p.endpoints), "nftables/iptables",
         ratio(n.fullSyncMs, i.fullSyncMs), ratio(n.endpointChangeMs, i.endpointChangeMs),
         ratio(n.kernelKiB, i.kernelKiB), ratio(n.rulesKiB, i.rulesKiB), "-",
         ratio(n.latency.p50Us, i.latency.p50Us), ratio(n.latency.p99Us, i.latency.p99Us), "-"});
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
  checkPlotFile(file);
  const std::string data = scratchDir + "/proxy.dat";
  const std::string script = scratchDir + "/proxy.gp";
  {
    std::ofstream out(data);
    out << "# services nft_full ipt_full nft_change ipt_change nft_p50 ipt_p50 nft_p99 ipt_p99\n";
    for (const auto& p : points) {
      out << p.services << " " << p.nftables.fullSyncMs << " " << p.iptables.fullSyncMs << " "
          << p.nftables.endpointChangeMs << " " << p.iptables.endpointChangeMs << " "
          << p.nftables.latency.p50Us << " " << p.iptables.latency.p50Us << " "
          << p.nftables.latency.p99Us << " " << p.iptables.latency.p99Us << "\n";
    }
  }
  {
    std::ofstream out(script);
    out << (file.ends_with(".svg") ? "set terminal svg size 1500,450 dynamic\n"
                                   : "set terminal pngcairo size 1500,450\n")
        << "set output '" << file << "'\n"
        << "set multiplot layout 1,3 title 'kite bench proxy: nftables (kite) vs iptables "
           "(kube-proxy layout), "
        << (points.empty() ? 0 : points.front().endpoints) << " endpoints a Service'\n"
        << "set logscale x\nset xlabel 'Services'\nset key top left\nset grid\n"
        << "set logscale y\nset ylabel 'ms'\nset title 'full sync'\n"
        << "plot '" << data << "' using 1:2 with linespoints title 'nftables', '' using 1:3 "
        << "with linespoints title 'iptables'\n"
        << "set title 'one endpoint changed'\n"
        << "plot '" << data << "' using 1:4 with linespoints title 'nftables', '' using 1:5 "
        << "with linespoints title 'iptables'\n"
        << "set title 'TCP connect through a ClusterIP'\nset ylabel 'µs'\n"
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
  const int status = pclose(pipe);
  if (status != 0) {
    throw std::runtime_error("gnuplot failed (install gnuplot-nox for --plot): " + output);
  }
}

}  // namespace kite::cmd::bench
