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

#include "bench_ebpf.h"
#include "bench_iptables.h"
#include "kite/proxy/nftables_dataplane.h"

namespace kite::cmd::bench {

namespace {

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
    std::string key;
    auto next = withOneEndpointChanged(applied, services * endpoints + r, random, &key);
    // As the Proxy syncs after one EndpointSlice event: the changed port's key handed over.
    change.push_back(millisecondsOf([&] { dataplane.syncChangedKeys(applied, next, {key}); }));
    applied = std::move(next);
  }
  // Listed after the changes: libnftables keeps a listing's cache until the next command,
  // which would then pay for freeing the whole table (kite's proxy never lists).
  figures.rulesKiB = static_cast<double>(dataplane.listTable().size()) / 1024.0;
  figures.latency = measureConnects(network, services, options.connections, options.seed);
  if (options.wrkSeconds > 0) {
    figures.wrk = runWrkMedian(network, "", wrkClusterUrl(services), options.wrkSeconds,
                               options.wrkConnections, options.repetitions);
  }
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
  figures.latency = measureConnects(network, services, options.connections, options.seed);
  if (options.wrkSeconds > 0) {
    figures.wrk = runWrkMedian(network, "", wrkClusterUrl(services), options.wrkSeconds,
                               options.wrkConnections, options.repetitions);
  }
  restore(renderIptablesEmpty(), false);
  // iptables-nft leaves an empty `ip nat` table whose hooks would keep conntrack and NAT in
  // the path of the next backends' packets; the legacy tables cannot be removed.
  if (!options.iptablesRestore.ends_with("legacy-restore")) {
    try {
      runProgram({"nft", "delete", "table", "ip", "nat"});
    } catch (const std::exception&) {
      // Already gone.
    }
  }
  figures.fullSyncMs = median(full);
  figures.endpointChangeMs = median(change);
  figures.kernelKiB = median(kernel);
  return figures;
}

}  // namespace

void settle() { std::this_thread::sleep_for(std::chrono::milliseconds(150)); }

proxy::DesiredState withOneEndpointChanged(const proxy::DesiredState& state, int fresh,
                                           std::mt19937& random, std::string* changedKey) {
  proxy::DesiredState next = state;
  std::uniform_int_distribution<std::size_t> pick(0, next.services.size() - 1);
  auto it = next.services.begin();
  std::advance(it, static_cast<std::ptrdiff_t>(pick(random)));
  if (changedKey != nullptr) *changedKey = it->first;
  auto& endpoints = it->second.endpoints;
  endpoints.front().ip = endpointIPOf(fresh);
  std::sort(endpoints.begin(), endpoints.end());
  return next;
}

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
                                  const ProxyBenchOptions& options, const std::string& scratchDir,
                                  const EbpfScratch* ebpf) {
  ProxyBenchPoint point;
  point.services = services;
  point.endpoints = options.endpoints;
  const auto state = makeBenchState(services, options.endpoints);
  // The rules go into the node namespace only: this thread (and the iptables-restore it
  // starts) works there until the scope ends. The direct baseline and eBPF come first, while
  // the node has no NAT table at all.
  const NetnsScope inNode(network.nodePath());
  if (options.ebpf) {
    if (ebpf == nullptr) throw std::logic_error("measureProxyPoint: eBPF without its scratch");
    point.direct = measureDirect(network, services, options.endpoints, options);
    const auto measured = measureEbpf(network, state, services, options.endpoints, options, *ebpf);
    point.ebpf = measured.ebpf;
    point.directAttached = measured.directAttached;
    if (options.wrkSeconds > 0)
      point.northSouth = measureNorthSouth(network, state, services, options, *ebpf);
  }
  if (options.nftables) {
    point.nftables = measureNftables(network, state, services, options.endpoints, options);
  }
  if (options.iptablesUpTo == 0 || services <= options.iptablesUpTo) {
    point.iptables =
        measureIptables(network, state, services, options.endpoints, options, scratchDir);
  }
  return point;
}

}  // namespace kite::cmd::bench
