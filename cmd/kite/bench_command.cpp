// `kite bench proxy` and `kite bench netpol`: Service proxy and NetworkPolicy benchmarks
// (kite's nftables backends against iptables baselines) in a private network the command
// builds and removes.

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "bench_ebpf.h"
#include "bench_measure.h"
#include "bench_netpol.h"
#include "bench_netpol_report.h"
#include "bench_netpol_workload.h"
#include "bench_network.h"
#include "bench_proxy.h"
#include "bench_report.h"
#include "commands.h"

namespace kite::cmd {

namespace {

struct ProxyBenchFlags {
  std::vector<int> services = {10, 100, 1000};
  bench::ProxyBenchOptions options;
  std::string mode = "all";
  std::string plot;
};

void checkFlags(const ProxyBenchFlags& flags) {
  const auto& o = flags.options;
  if (flags.services.empty()) throw std::invalid_argument("--services: give at least one count");
  for (const int n : flags.services) {
    if (n < 1 || n > bench::kMaxServices) {
      throw std::invalid_argument("--services: " + std::to_string(n) + " is not in 1.." +
                                  std::to_string(bench::kMaxServices));
    }
  }
  if (o.endpoints < 1) throw std::invalid_argument("--endpoints: must be at least 1");
  for (const int n : flags.services) {
    if (static_cast<long long>(n) * o.endpoints + o.repetitions > bench::kMaxEndpoints) {
      throw std::invalid_argument("--endpoints: " + std::to_string(n) + " Services × " +
                                  std::to_string(o.endpoints) +
                                  " endpoints exceed the address plan (" +
                                  std::to_string(bench::kMaxEndpoints) + " endpoints)");
    }
  }
  if (o.repetitions < 1) throw std::invalid_argument("--repetitions: must be at least 1");
  if (o.connections < 1) throw std::invalid_argument("--connections: must be at least 1");
  if (o.iptablesUpTo < 0) throw std::invalid_argument("--iptables-up-to: must not be negative");
  if (o.wrkSeconds < 0) throw std::invalid_argument("--wrk-seconds: must not be negative");
  if (o.wrkConnections < 1) throw std::invalid_argument("--wrk-connections: must be at least 1");
  if (!flags.plot.empty()) bench::checkPlotFile(flags.plot);
}

// A private directory for iptables-restore's input and the plot's data; removed on exit.
class ScratchDir {
 public:
  ScratchDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "kite-bench-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~ScratchDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

void runProxyBench(ProxyBenchFlags flags) {
  flags.options.nftables = flags.mode != "ebpf";
  flags.options.ebpf = flags.mode != "nftables";
  checkFlags(flags);
  if (geteuid() != 0) {
    throw std::runtime_error(
        "kite bench proxy must run as root: it creates network namespaces and loads nftables "
        "and iptables rules in them (never in the host's), and eBPF programs attached to a "
        "cgroup of its own");
  }
  if (flags.options.wrkSeconds > 0 && !bench::haveWrk()) {
    throw std::runtime_error(
        "kite bench proxy: wrk is not installed (apt-get install wrk, or --wrk-seconds 0)");
  }
  const ScratchDir scratch;
  const bench::BenchNetwork network;
  // The eBPF programs' cgroup and pins, removed before the network.
  std::unique_ptr<bench::EbpfScratch> ebpf;
  if (flags.options.ebpf) ebpf = std::make_unique<bench::EbpfScratch>();
  std::vector<bench::ProxyBenchPoint> points;
  for (const int services : flags.services) {
    std::cerr << "kite bench proxy: " << services << " Services × " << flags.options.endpoints
              << " endpoints...\n";
    points.push_back(
        bench::measureProxyPoint(network, services, flags.options, scratch.path(), ebpf.get()));
  }
  bench::printProxyTable(std::cout, points, flags.options);
  if (!flags.plot.empty()) {
    bench::plotProxyCurves(points, flags.plot, scratch.path());
    std::cout << "\nplot: " << flags.plot << "\n";
  }
}

struct NetpolBenchFlags {
  std::vector<int> policies = {10, 100, 1000};
  bench::NetpolBenchOptions options;
  std::string plot;
};

void checkNetpolFlags(const NetpolBenchFlags& flags) {
  const auto& o = flags.options;
  if (flags.policies.empty()) throw std::invalid_argument("--policies: give at least one count");
  for (const int n : flags.policies) {
    if (n < 1 || n > bench::kMaxPolicies) {
      throw std::invalid_argument("--policies: " + std::to_string(n) + " is not in 1.." +
                                  std::to_string(bench::kMaxPolicies));
    }
  }
  // Every (namespace, app group) of the generator needs a pod for each policy to select one.
  if (o.pods < 40 || o.pods > bench::kMaxPods) {
    throw std::invalid_argument("--pods: " + std::to_string(o.pods) + " is not in 40.." +
                                std::to_string(bench::kMaxPods));
  }
  if (o.peers < 1 || o.peers > bench::kMaxPods) {
    throw std::invalid_argument("--peers: " + std::to_string(o.peers) + " is not in 1.." +
                                std::to_string(bench::kMaxPods));
  }
  if (o.repetitions < 1) throw std::invalid_argument("--repetitions: must be at least 1");
  if (o.connections < 1) throw std::invalid_argument("--connections: must be at least 1");
  if (o.denied < 0) throw std::invalid_argument("--denied: must not be negative");
  if (!flags.plot.empty()) bench::checkPlotFile(flags.plot);
}

void runNetpolBench(const NetpolBenchFlags& flags) {
  checkNetpolFlags(flags);
  if (geteuid() != 0) {
    throw std::runtime_error(
        "kite bench netpol must run as root: it creates network namespaces and loads nftables "
        "and iptables rules in them (never in the host's)");
  }
  const ScratchDir scratch;
  const bench::BenchNetwork network;
  bench::addPeerRoutes(network);
  std::vector<bench::NetpolBenchPoint> points;
  for (const int policies : flags.policies) {
    std::cerr << "kite bench netpol: " << policies << " NetworkPolicies over " << flags.options.pods
              << " pods...\n";
    points.push_back(bench::measureNetpolPoint(network, policies, flags.options, scratch.path()));
  }
  bench::printNetpolTable(std::cout, points, flags.options);
  if (!flags.plot.empty()) {
    bench::plotNetpolCurves(points, flags.plot, scratch.path());
    std::cout << "\nplot: " << flags.plot << "\n";
  }
}

void addNetpolBench(CLI::App& bench) {
  auto flags = std::make_shared<NetpolBenchFlags>();
  auto* netpol = bench.add_subcommand(
      "netpol",
      "Full sync, one-pod label change, rule memory and TCP connect latency to isolated pods "
      "(allowed and denied) for kite's nftables NetworkPolicy dataplane and a plain-iptables "
      "baseline side by side, in private network namespaces (root)");
  netpol->add_option("--policies", flags->policies, "NetworkPolicy counts to sweep, e.g. 10,1000")
      ->delimiter(',')
      ->capture_default_str();
  netpol->add_option("--pods", flags->options.pods, "Pods on this node (what policies select)")
      ->capture_default_str();
  netpol
      ->add_option("--peers", flags->options.peers,
                   "Pods on other nodes (what rules admit by selector)")
      ->capture_default_str();
  netpol
      ->add_option("--repetitions", flags->options.repetitions,
                   "Repetitions of each sync (medians are printed)")
      ->capture_default_str();
  netpol
      ->add_option("--connections", flags->options.connections,
                   "Allowed TCP connects to isolated pods a backend and N")
      ->capture_default_str();
  netpol
      ->add_option("--denied", flags->options.denied,
                   "Connects on denied paths a backend and N (each must be refused)")
      ->capture_default_str();
  netpol
      ->add_option("--iptables-restore", flags->options.iptablesRestore,
                   "The baseline's loader (iptables-restore, iptables-legacy-restore)")
      ->capture_default_str();
  netpol->add_option("--seed", flags->options.seed, "Seed of the random choices")
      ->capture_default_str();
  netpol->add_option("--plot", flags->plot, "Draw the curves over N into FILE.png or FILE.svg");
  netpol->callback([flags] { runNetpolBench(*flags); });
}

}  // namespace

void addBenchCommand(CLI::App& root) {
  auto* bench = root.add_subcommand(
      "bench",
      "Benchmark the Service proxy and NetworkPolicy enforcement against iptables baselines");
  bench->require_subcommand(1);

  auto flags = std::make_shared<ProxyBenchFlags>();
  auto* proxyBench = bench->add_subcommand(
      "proxy",
      "Full sync, one-endpoint change, rule memory, TCP connect latency and short-lived "
      "requests/s (wrk) through a ClusterIP for kite's nftables and eBPF backends, "
      "iptables-restore and the pod IP directly, side by side, in private network namespaces "
      "and a cgroup of its own (root)");
  proxyBench->add_option("--services", flags->services, "Service counts to sweep, e.g. 10,1000")
      ->delimiter(',')
      ->capture_default_str();
  proxyBench->add_option("--endpoints", flags->options.endpoints, "Endpoints a Service")
      ->capture_default_str();
  proxyBench
      ->add_option("--repetitions", flags->options.repetitions,
                   "Repetitions of each sync (medians are printed)")
      ->capture_default_str();
  proxyBench
      ->add_option("--connections", flags->options.connections,
                   "TCP connects through ClusterIPs a backend and N")
      ->capture_default_str();
  proxyBench
      ->add_option("--iptables-restore", flags->options.iptablesRestore,
                   "The baseline's loader (iptables-restore, iptables-legacy-restore)")
      ->capture_default_str();
  proxyBench->add_option("--seed", flags->options.seed, "Seed of the random choices")
      ->capture_default_str();
  proxyBench
      ->add_option("--mode", flags->mode,
                   "Backends of kite to measure beside the iptables baseline: nftables, ebpf "
                   "(with direct connects to the pod IP) or all")
      ->check(CLI::IsMember({"nftables", "ebpf", "all"}))
      ->capture_default_str();
  proxyBench
      ->add_option("--iptables-up-to", flags->options.iptablesUpTo,
                   "Measure the iptables baseline only up to this many Services (0: always)")
      ->capture_default_str();
  proxyBench
      ->add_option("--wrk-seconds", flags->options.wrkSeconds,
                   "Seconds of wrk (Connection: close) a backend and N; 0: no wrk")
      ->capture_default_str();
  proxyBench->add_option("--wrk-connections", flags->options.wrkConnections, "wrk's -c")
      ->capture_default_str();
  proxyBench->add_option("--plot", flags->plot, "Draw the curves over N into FILE.png or FILE.svg");
  proxyBench->callback([flags] { runProxyBench(*flags); });
  addNetpolBench(*bench);
}

}  // namespace kite::cmd
