// The table and the plot of `kite bench proxy` (bench_report.h).

#include "bench_report.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>
#include <optional>
#include <stdexcept>

namespace kite::cmd::bench {

namespace {

std::string orDash(double value, int decimals) {
  return value > 0 ? formatFixed(value, decimals) : "-";
}

// A gnuplot single-quoted string: a quote inside is doubled.
std::string quoted(const std::string& text) {
  std::string out = "'";
  for (const char ch : text) out += ch == '\'' ? std::string("''") : std::string(1, ch);
  return out + "'";
}

std::string wrkCell(const std::optional<WrkResult>& wrk) {
  if (!wrk) return "-";
  std::string cell = formatFixed(wrk->requestsPerSecond, 0);
  if (wrk->errors > 0) cell += " (" + std::to_string(wrk->errors) + " errors)";
  return cell;
}

// The rows of one backend; `syncs` false for the direct baseline (no rules, only traffic).
std::vector<std::string> figuresRow(const ProxyBenchPoint& p, const char* backend,
                                    const BackendFigures& f, bool syncs, bool wrk) {
  std::vector<std::string> row{
      std::to_string(p.services),
      std::to_string(p.endpoints),
      backend,
      syncs ? formatFixed(f.fullSyncMs, 2) : "-",
      syncs ? formatFixed(f.endpointChangeMs, 2) : "-",
      syncs ? formatFixed(f.kernelKiB, 0) : "-",
      syncs ? formatFixed(f.rulesKiB, 0) : "-",
      orDash(f.rssMiB, 1),
      formatFixed(f.latency.p50Us, 1),
      formatFixed(f.latency.p99Us, 1),
      std::to_string(f.latency.succeeded) + "/" + std::to_string(f.latency.attempted)};
  if (wrk) row.push_back(wrkCell(f.wrk));
  return row;
}

double rps(const BackendFigures& f) { return f.wrk ? f.wrk->requestsPerSecond : 0; }

std::vector<std::string> ratioRow(const ProxyBenchPoint& p, const char* name,
                                  const BackendFigures& a, const BackendFigures& b, bool syncs,
                                  bool wrk) {
  std::vector<std::string> row{std::to_string(p.services),
                               std::to_string(p.endpoints),
                               name,
                               syncs ? formatRatio(a.fullSyncMs, b.fullSyncMs) : "-",
                               syncs ? formatRatio(a.endpointChangeMs, b.endpointChangeMs) : "-",
                               syncs ? formatRatio(a.kernelKiB, b.kernelKiB) : "-",
                               syncs ? formatRatio(a.rulesKiB, b.rulesKiB) : "-",
                               "-",
                               formatRatio(a.latency.p50Us, b.latency.p50Us),
                               formatRatio(a.latency.p99Us, b.latency.p99Us),
                               "-"};
  if (wrk) row.push_back(formatRatio(rps(a), rps(b)));
  return row;
}

}  // namespace

void printProxyTable(std::ostream& out, const std::vector<ProxyBenchPoint>& points,
                     const ProxyBenchOptions& options) {
  const bool wrk = options.wrkSeconds > 0;
  out << "kite bench proxy: " << options.endpoints << " endpoints a Service, medians of "
      << options.repetitions << " repetitions, " << options.connections
      << " connects a backend; RSS: this kite process after the full sync; baseline loader: "
      << options.iptablesRestore << "\n";
  if (options.ebpf) {
    out << "ebpf: socket programs only, connecting processes in the bench's cgroup; rules KiB: "
           "its BPF maps' memlock (preallocated capacity), kernel KiB: from before the load; "
           "direct: to one of the Service's pod IPs at random, no Service; direct, programs "
           "attached: the same from the bench's cgroup while the programs are attached\n";
  }
  if (wrk) {
    out << "req/s: median of " << options.repetitions << " runs of wrk -t 2 -c "
        << options.wrkConnections << " -d " << options.wrkSeconds
        << "s -H 'Connection: close' (one connection a request) to the ClusterIP of Service "
           "N/2 (direct: its first pod IP)\n";
  }
  out << "\n";
  std::vector<std::string> header{
      "services",   "endpoints", "backend", "full sync ms",   "1-endpoint change ms",
      "kernel KiB", "rules KiB", "RSS MiB", "connect p50 µs", "connect p99 µs",
      "connects ok"};
  std::vector<std::string> align{
      "---:", "---:", "---", "---:", "---:", "---:", "---:", "---:", "---:", "---:", "---:"};
  if (wrk) {
    header.emplace_back("req/s");
    align.emplace_back("---:");
  }
  printTableRow(out, header);
  printTableRow(out, align);
  for (const auto& p : points) {
    if (p.nftables) printTableRow(out, figuresRow(p, "nftables", *p.nftables, true, wrk));
    if (p.iptables) printTableRow(out, figuresRow(p, "iptables", *p.iptables, true, wrk));
    if (p.ebpf) printTableRow(out, figuresRow(p, "ebpf", *p.ebpf, true, wrk));
    if (p.direct) printTableRow(out, figuresRow(p, "direct", *p.direct, false, wrk));
    if (p.directAttached) {
      printTableRow(out, figuresRow(p, "direct, programs attached", *p.directAttached, false, wrk));
    }
    if (p.nftables && p.iptables) {
      printTableRow(out, ratioRow(p, "nftables/iptables", *p.nftables, *p.iptables, true, wrk));
    }
    if (p.ebpf && p.direct) {
      printTableRow(out, ratioRow(p, "ebpf/direct", *p.ebpf, *p.direct, false, wrk));
    }
    if (p.ebpf && p.directAttached) {
      printTableRow(out,
                    ratioRow(p, "ebpf/direct attached", *p.ebpf, *p.directAttached, false, wrk));
    }
    if (p.ebpf && p.nftables) {
      printTableRow(out, ratioRow(p, "ebpf/nftables", *p.ebpf, *p.nftables, true, wrk));
    }
  }
  const bool northSouth =
      std::any_of(points.begin(), points.end(), [](const auto& p) { return p.northSouth; });
  if (northSouth) {
    out << "\n--proxy-mode ebpf as deployed: the socket programs and the nftables table for "
           "traffic from outside (northSouth), whose NAT hooks put conntrack in the path of "
           "forwarded packets. NodePort: wrk from the client namespace as a host outside the "
           "node (not in the cgroup) to the node's address; ClusterIP: from the cgroup, as "
           "above; against the Service's pod IP directly with no table in the node\n\n";
    printTableRow(out, {"services", "path", "req/s", "vs direct", "connect p50 µs",
                        "connect p99 µs", "connects ok"});
    printTableRow(out, {"---:", "---", "---:", "---:", "---:", "---:", "---:"});
    for (const auto& p : points) {
      if (!p.northSouth || !p.direct || !p.direct->wrk) continue;
      const auto& ns = *p.northSouth;
      const auto& direct = *p.direct;
      const auto rpsCell = [](const WrkResult& w) { return wrkCell(w); };
      const auto connects = [](const ConnectLatency& l) {
        return std::to_string(l.succeeded) + "/" + std::to_string(l.attempted);
      };
      printTableRow(out,
                    {std::to_string(p.services), "NodePort (nftables table)", rpsCell(ns.nodePort),
                     formatRatio(ns.nodePort.requestsPerSecond, rps(direct)), "-", "-", "-"});
      printTableRow(
          out, {std::to_string(p.services), "ClusterIP (ebpf, table loaded)", rpsCell(ns.clusterIP),
                formatRatio(ns.clusterIP.requestsPerSecond, rps(direct)),
                formatFixed(ns.clusterConnect.p50Us, 1), formatFixed(ns.clusterConnect.p99Us, 1),
                connects(ns.clusterConnect)});
      printTableRow(out, {std::to_string(p.services), "direct", rpsCell(*direct.wrk), "1.00×",
                          formatFixed(direct.latency.p50Us, 1),
                          formatFixed(direct.latency.p99Us, 1), connects(direct.latency)});
    }
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
  const double none = std::numeric_limits<double>::quiet_NaN();
  std::vector<double> n;
  n.reserve(points.size());
  for (const auto& p : points) n.push_back(p.services);
  struct Backend {
    const char* name;
    std::optional<BackendFigures> ProxyBenchPoint::*figures;
  };
  const std::array<Backend, 4> backends{{{"nftables", &ProxyBenchPoint::nftables},
                                         {"iptables", &ProxyBenchPoint::iptables},
                                         {"ebpf", &ProxyBenchPoint::ebpf},
                                         {"direct", &ProxyBenchPoint::direct}}};
  // The curve of `value` for each backend that has a figure at some N.
  const auto curves = [&](const std::string& suffix, auto value, bool withDirect) {
    std::vector<Curve> out;
    for (const auto& b : backends) {
      if (!withDirect && std::string(b.name) == "direct") continue;
      Curve curve{.title = b.name + suffix, .values = {}};
      bool any = false;
      for (const auto& p : points) {
        const auto& f = p.*(b.figures);
        const double v = f ? value(*f) : 0;
        curve.values.push_back(v > 0 ? v : none);
        any = any || v > 0;
      }
      if (any) out.push_back(std::move(curve));
    }
    return out;
  };
  auto connect = curves(
      " p50", [](const BackendFigures& f) { return f.latency.p50Us; }, true);
  auto p99 = curves(
      " p99", [](const BackendFigures& f) { return f.latency.p99Us; }, true);
  connect.insert(connect.end(), p99.begin(), p99.end());
  std::vector<Panel> panels{
      {.title = "full sync",
       .yLabel = "ms",
       .curves = curves(
           "", [](const BackendFigures& f) { return f.fullSyncMs; }, false)},
      {.title = "one endpoint changed",
       .yLabel = "ms",
       .curves = curves(
           "", [](const BackendFigures& f) { return f.endpointChangeMs; }, false)},
      {.title = "TCP connect through a ClusterIP", .yLabel = "µs", .curves = connect}};
  auto requests = curves(
      "", [](const BackendFigures& f) { return rps(f); }, true);
  if (!requests.empty()) {
    panels.push_back({.title = "short-lived connections (wrk, Connection: close)",
                      .yLabel = "requests/s",
                      .logY = false,
                      .curves = requests});
  }
  plotPanels("proxy",
             "kite bench proxy: kite nftables and eBPF backends, iptables (kube-proxy layout), "
             "direct to the pod IP; " +
                 std::to_string(points.empty() ? 0 : points.front().endpoints) +
                 " endpoints a Service",
             "Services", n, panels, file, scratchDir);
}

void plotPanels(const std::string& name, const std::string& title, const std::string& xLabel,
                const std::vector<double>& n, const std::vector<Panel>& panels,
                const std::string& file, const std::string& scratchDir) {
  checkPlotFile(file);
  const std::string data = scratchDir + "/" + name + ".dat";
  const std::string script = scratchDir + "/" + name + ".gp";
  {
    std::ofstream out(data);
    out << "# n, then each panel's curves in order\n";
    for (std::size_t i = 0; i < n.size(); ++i) {
      out << n[i];
      for (const auto& panel : panels) {
        for (const auto& curve : panel.curves) {
          const double v = i < curve.values.size() ? curve.values[i] : 0;
          if (std::isnan(v)) {
            out << " NaN";
          } else {
            out << " " << v;
          }
        }
      }
      out << "\n";
    }
  }
  {
    std::ofstream out(script);
    const int width = 500 * static_cast<int>(panels.size());
    out << (file.ends_with(".svg")
                ? "set terminal svg size " + std::to_string(width) + ",450 dynamic\n"
                : "set terminal pngcairo size " + std::to_string(width) + ",450\n")
        << "set output '" << file << "'\n"
        << "set multiplot layout 1," << panels.size() << " title " << quoted(title) << "\n"
        << "set logscale x\nset xlabel " << quoted(xLabel) << "\nset key top left\nset grid\n";
    int column = 2;
    for (const auto& panel : panels) {
      out << (panel.logY ? "set logscale y\n" : "unset logscale y\nset yrange [0:*]\n")
          << "set ylabel " << quoted(panel.yLabel) << "\nset title " << quoted(panel.title)
          << "\nplot ";
      for (std::size_t c = 0; c < panel.curves.size(); ++c) {
        out << (c == 0 ? "'" + data + "'" : ", ''") << " using 1:" << column++
            << " with linespoints title " << quoted(panel.curves[c].title);
      }
      if (panel.curves.empty()) out << "NaN notitle";
      out << "\n";
    }
    out << "unset multiplot\n";
  }
  runGnuplot(script);
}

void runGnuplot(const std::string& script) {
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
  runGnuplot(script);
}

}  // namespace kite::cmd::bench
