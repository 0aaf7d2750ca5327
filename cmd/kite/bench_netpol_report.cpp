// The tables and the plot of `kite bench netpol` (bench_netpol_report.h).

#include "bench_netpol_report.h"

#include <array>
#include <cstdio>
#include <fstream>
#include <stdexcept>

#include "bench_report.h"

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

std::vector<std::string> figuresRow(const NetpolBenchPoint& p, const char* backend,
                                    const NetpolFigures& f) {
  return {std::to_string(p.policies),
          backend,
          fixed(f.fullSyncMs, 2),
          fixed(f.changeMs, 2),
          fixed(f.kernelKiB, 0),
          std::to_string(f.rules),
          f.setElements > 0 ? std::to_string(f.setElements) : "-",
          fixed(f.rulesKiB, 0),
          f.rssMiB > 0 ? fixed(f.rssMiB, 1) : "-",
          fixed(f.allowed.p50Us, 1),
          fixed(f.allowed.p99Us, 1),
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
  row(out, {"policies", "backend", "full sync ms", "1-pod change ms", "kernel KiB", "rules",
            "set elements", "rules KiB", "RSS MiB", "connect p50 µs", "connect p99 µs",
            "allowed ok", "denied refused"});
  row(out, {"---:", "---", "---:", "---:", "---:", "---:", "---:", "---:", "---:", "---:", "---:",
            "---:", "---:"});
  for (const auto& p : points) {
    row(out, figuresRow(p, "nftables", p.nftables));
    row(out, figuresRow(p, "iptables", p.iptables));
    const auto& n = p.nftables;
    const auto& i = p.iptables;
    row(out, {std::to_string(p.policies), "nftables/iptables", ratio(n.fullSyncMs, i.fullSyncMs),
              ratio(n.changeMs, i.changeMs), ratio(n.kernelKiB, i.kernelKiB),
              ratio(static_cast<double>(n.rules), static_cast<double>(i.rules)), "-",
              ratio(n.rulesKiB, i.rulesKiB), "-", ratio(n.allowed.p50Us, i.allowed.p50Us),
              ratio(n.allowed.p99Us, i.allowed.p99Us), "-", "-"});
  }
  out << "\nThe policies' state (computeState over every object; both backends start from it, "
         "so it is not in their sync times):\n\n";
  row(out, {"policies", "enforced here", "isolated pods", "computeState ms",
            "computeState after 1-pod change ms"});
  row(out, {"---:", "---:", "---:", "---:", "---:"});
  for (const auto& p : points) {
    row(out, {std::to_string(p.policies), std::to_string(p.enforcedPolicies),
              std::to_string(p.isolatedPods), fixed(p.computeMs, 2), fixed(p.computeChangeMs, 2)});
  }
  out.flush();
}

void plotNetpolCurves(const std::vector<NetpolBenchPoint>& points, const std::string& file,
                      const std::string& scratchDir) {
  checkPlotFile(file);
  const std::string data = scratchDir + "/netpol.dat";
  const std::string script = scratchDir + "/netpol.gp";
  {
    std::ofstream out(data);
    out << "# policies nft_full ipt_full nft_change ipt_change nft_p50 ipt_p50 nft_p99 ipt_p99\n";
    for (const auto& p : points) {
      out << p.policies << " " << p.nftables.fullSyncMs << " " << p.iptables.fullSyncMs << " "
          << p.nftables.changeMs << " " << p.iptables.changeMs << " " << p.nftables.allowed.p50Us
          << " " << p.iptables.allowed.p50Us << " " << p.nftables.allowed.p99Us << " "
          << p.iptables.allowed.p99Us << "\n";
    }
  }
  {
    std::ofstream out(script);
    out << (file.ends_with(".svg") ? "set terminal svg size 1500,450 dynamic\n"
                                   : "set terminal pngcairo size 1500,450\n")
        << "set output '" << file << "'\n"
        << "set multiplot layout 1,3 title 'kite bench netpol: nftables (kite) vs plain iptables "
           "(chain per pod and policy)'\n"
        << "set logscale x\nset xlabel 'NetworkPolicies'\nset key top left\nset grid\n"
        << "set logscale y\nset ylabel 'ms'\nset title 'full sync'\n"
        << "plot '" << data << "' using 1:2 with linespoints title 'nftables', '' using 1:3 "
        << "with linespoints title 'iptables'\n"
        << "set title 'one pod relabelled'\n"
        << "plot '" << data << "' using 1:4 with linespoints title 'nftables', '' using 1:5 "
        << "with linespoints title 'iptables'\n"
        << "set title 'TCP connect to an isolated pod, allowed'\nset ylabel 'µs'\n"
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
