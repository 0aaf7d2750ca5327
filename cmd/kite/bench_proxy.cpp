// The measurements of one point of `kite bench proxy` (bench_proxy.h): for each backend, R
// full syncs onto an empty table, R one-endpoint changes, kernel memory, and connects.

#include "bench_proxy.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <random>
#include <stdexcept>
#include <thread>

#include "bench_iptables.h"
#include "kite/proxy/nftables_dataplane.h"

namespace kite::cmd::bench {

namespace {

template <class Fn>
double millisecondsOf(Fn&& fn) {
  const auto start = std::chrono::steady_clock::now();
  fn();
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
      .count();
}

// Lets the kernel finish freeing a removed ruleset (nf_tables frees after an RCU grace period
// on a worker) so that it does not count against the next measurement.
void settle() { std::this_thread::sleep_for(std::chrono::milliseconds(150)); }

// `state` with one endpoint of one random Service replaced by a fresh address, as when a pod
// is replaced. `fresh` numbers the new addresses (beyond those makeBenchState used).
proxy::DesiredState withOneEndpointChanged(const proxy::DesiredState& state, int fresh,
                                           std::mt19937& random) {
  proxy::DesiredState next = state;
  std::uniform_int_distribution<std::size_t> pick(0, next.services.size() - 1);
  auto it = next.services.begin();
  std::advance(it, static_cast<std::ptrdiff_t>(pick(random)));
  auto& endpoints = it->second.endpoints;
  endpoints.front().ip = endpointIPOf(fresh);
  std::sort(endpoints.begin(), endpoints.end());
  return next;
}

std::string captureOutput(const std::string& command) {
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) throw std::runtime_error("cannot run " + command);
  std::string out;
  std::array<char, 65536> buffer{};
  while (const auto n = std::fread(buffer.data(), 1, buffer.size(), pipe)) {
    out.append(buffer.data(), n);
  }
  pclose(pipe);
  return out;
}

BackendFigures measureNftables(const BenchNetwork& network, const proxy::DesiredState& state,
                               int services, int endpoints, const ProxyBenchOptions& options) {
  BackendFigures figures;
  proxy::nft::RulesOptions rules;
  rules.clusterCidr = kEndpointCidr;
  proxy::NftablesDataplane dataplane(rules);
  std::vector<double> full;
  std::vector<double> change;
  std::vector<double> kernel;
  for (int r = 0; r < options.repetitions; ++r) {
    dataplane.cleanup();
    settle();
    const double before = kernelMemoryKiB();
    full.push_back(millisecondsOf([&] { dataplane.syncAll(state); }));
    kernel.push_back(kernelMemoryKiB() - before);
  }
  figures.rssMiB = residentMiB();
  std::mt19937 random(options.seed);
  proxy::DesiredState applied = state;
  for (int r = 0; r < options.repetitions; ++r) {
    auto next = withOneEndpointChanged(applied, services * endpoints + r, random);
    change.push_back(millisecondsOf([&] { dataplane.syncChanges(applied, next); }));
    applied = std::move(next);
  }
  // Listed after the changes: libnftables keeps a listing's cache until the next command,
  // which would then pay for freeing the whole table (kite's proxy never lists).
  figures.rulesKiB = static_cast<double>(dataplane.listTable().size()) / 1024.0;
  figures.latency =
      measureConnects(network.clientPath(), services, options.connections, options.seed);
  dataplane.cleanup();
  figures.fullSyncMs = median(full);
  figures.endpointChangeMs = median(change);
  figures.kernelKiB = median(kernel);
  return figures;
}

BackendFigures measureIptables(const BenchNetwork& network, const proxy::DesiredState& state,
                               int services, int endpoints, const ProxyBenchOptions& options,
                               const std::string& scratchDir) {
  BackendFigures figures;
  const auto restore = [&](const std::string& input, bool noflush) {
    return iptablesRestore(options.iptablesRestore, input, scratchDir, noflush);
  };
  std::vector<double> full;
  std::vector<double> change;
  std::vector<double> kernel;
  for (int r = 0; r < options.repetitions; ++r) {
    restore(renderIptablesBase(), false);
    settle();
    const double before = kernelMemoryKiB();
    // As kube-proxy's sync: write the whole table's text, then one iptables-restore.
    full.push_back(millisecondsOf([&] { restore(renderIptablesNat(state, kEndpointCidr), true); }));
    kernel.push_back(kernelMemoryKiB() - before);
  }
  figures.rulesKiB =
      static_cast<double>(captureOutput(options.iptablesRestore.ends_with("legacy-restore")
                                            ? "iptables-legacy-save -t nat"
                                            : "iptables-save -t nat")
                              .size()) /
      1024.0;
  std::mt19937 random(options.seed);
  proxy::DesiredState applied = state;
  for (int r = 0; r < options.repetitions; ++r) {
    auto next = withOneEndpointChanged(applied, services * endpoints + r, random);
    // Upstream (1.20) rewrites the whole table for any change.
    change.push_back(
        millisecondsOf([&] { restore(renderIptablesNat(next, kEndpointCidr), true); }));
    applied = std::move(next);
  }
  figures.latency =
      measureConnects(network.clientPath(), services, options.connections, options.seed);
  restore(renderIptablesEmpty(), false);
  figures.fullSyncMs = median(full);
  figures.endpointChangeMs = median(change);
  figures.kernelKiB = median(kernel);
  return figures;
}

}  // namespace

proxy::DesiredState makeBenchState(int services, int endpoints) {
  proxy::DesiredState state;
  for (int i = 0; i < services; ++i) {
    proxy::ServicePortState port;
    port.namespace_ = "bench";
    port.name = "svc-" + std::to_string(i);
    port.portName = "http";
    port.protocol = "tcp";
    port.clusterIP = clusterIPOf(i);
    port.port = kServicePort;
    for (int j = 0; j < endpoints; ++j) {
      proxy::EndpointTarget endpoint;
      endpoint.ip = endpointIPOf(i * endpoints + j);
      endpoint.port = kBackendPort;
      port.endpoints.push_back(std::move(endpoint));
    }
    std::sort(port.endpoints.begin(), port.endpoints.end());
    state.services.emplace(port.key(), std::move(port));
  }
  return state;
}

ProxyBenchPoint measureProxyPoint(const BenchNetwork& network, int services,
                                  const ProxyBenchOptions& options, const std::string& scratchDir) {
  ProxyBenchPoint point;
  point.services = services;
  point.endpoints = options.endpoints;
  const auto state = makeBenchState(services, options.endpoints);
  // The rules go into the node namespace only: this thread (and the iptables-restore it
  // starts) works there until the scope ends.
  const NetnsScope inNode(network.nodePath());
  point.nftables = measureNftables(network, state, services, options.endpoints, options);
  point.iptables =
      measureIptables(network, state, services, options.endpoints, options, scratchDir);
  return point;
}

}  // namespace kite::cmd::bench
