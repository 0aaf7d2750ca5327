// The eBPF half of `kite bench proxy` (bench_ebpf.h).

#include "bench_ebpf.h"

#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <system_error>
#include <thread>
#include <vector>

#include "kite/ebpf/bpffs.h"
#include "kite/proxy/ebpf_dataplane.h"

namespace kite::cmd::bench {

namespace {

proxy::EbpfOptions optionsOf(const EbpfScratch& scratch, bool northSouth) {
  proxy::EbpfOptions options{.pinDir = scratch.pins.path(), .cgroup = scratch.cgroup.path()};
  if (northSouth) {
    proxy::nft::RulesOptions rules;
    rules.clusterCidr = kEndpointCidr;
    options.northSouth = rules;
  } else {
    options.northSouth = std::nullopt;
  }
  return options;
}

}  // namespace

BenchCgroup::BenchCgroup()
    : path_(ebpf::cgroup2Root() + "/kite-bench-" + std::to_string(getpid())) {
  std::error_code error;
  if (!std::filesystem::create_directory(path_, error) || error) {
    throw std::runtime_error("cannot create the bench's cgroup " + path_ + ": " +
                             (error ? error.message() : "it exists already"));
  }
}

BenchCgroup::~BenchCgroup() {
  // The children that joined it have been reaped, but the kernel may take a moment to
  // notice that it is empty.
  for (int attempt = 0; attempt < 50 && rmdir(path_.c_str()) != 0 && errno == EBUSY; ++attempt) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

BenchPinDir::BenchPinDir()
    : path_(std::string(ebpf::kBpffsRoot) + "/kite-bench-" + std::to_string(getpid())) {
  ebpf::ensureBpffs();
}

BenchPinDir::~BenchPinDir() {
  try {
    proxy::EbpfDataplane::removePinned(path_);
  } catch (const std::exception&) {
    // Nothing pinned, or already gone.
  }
  std::error_code ignored;
  std::filesystem::remove(path_, ignored);
}

std::string wrkClusterUrl(int services) {
  return "http://" + clusterIPOf(wrkServiceOf(services)) + ":" + std::to_string(kServicePort) + "/";
}

std::string wrkDirectUrl(int services, int endpoints) {
  return "http://" + endpointIPOf(wrkServiceOf(services) * endpoints) + ":" +
         std::to_string(kBackendPort) + "/";
}

BackendFigures measureDirect(const BenchNetwork& network, int services, int endpoints,
                             const ProxyBenchOptions& options) {
  BackendFigures figures;
  figures.latency = measureConnects(network, services, options.connections, options.seed,
                                    {.direct = true, .endpoints = endpoints, .cgroup = ""});
  if (options.wrkSeconds > 0) {
    figures.wrk = runWrkMedian(network, "", wrkDirectUrl(services, endpoints), options.wrkSeconds,
                               options.wrkConnections, options.repetitions);
  }
  return figures;
}

EbpfFigures measureEbpf(const BenchNetwork& network, const proxy::DesiredState& state, int services,
                        int endpoints, const ProxyBenchOptions& options,
                        const EbpfScratch& scratch) {
  EbpfFigures result;
  BackendFigures& figures = result.ebpf;
  std::vector<double> full;
  std::vector<double> change;
  std::vector<double> kernel;
  std::unique_ptr<proxy::EbpfDataplane> dataplane;
  for (int r = 0; r < options.repetitions; ++r) {
    if (dataplane) {
      dataplane->cleanup();
      dataplane.reset();
      settle();
    }
    // From before the load: the maps are preallocated when they are created, not filled.
    const double before = kernelMemoryKiB();
    dataplane = std::make_unique<proxy::EbpfDataplane>(optionsOf(scratch, false));
    full.push_back(millisecondsOf([&] { dataplane->syncAll(state); }));
    kernel.push_back(kernelMemoryKiB() - before);
  }
  figures.rssMiB = residentMiB();
  figures.rulesKiB = bpfMapMemoryKiB(scratch.pins.path());
  std::mt19937 random(options.seed);
  proxy::DesiredState applied = state;
  for (int r = 0; r < options.repetitions; ++r) {
    std::string key;
    auto next = withOneEndpointChanged(applied, services * endpoints + r, random, &key);
    change.push_back(millisecondsOf([&] { dataplane->syncChangedKeys(applied, next, {key}); }));
    applied = std::move(next);
  }
  figures.latency = measureConnects(network, services, options.connections, options.seed,
                                    {.cgroup = scratch.cgroup.path()});
  if (options.wrkSeconds > 0) {
    figures.wrk = runWrkMedian(network, scratch.cgroup.path(), wrkClusterUrl(services),
                               options.wrkSeconds, options.wrkConnections, options.repetitions);
  }
  result.directAttached.latency =
      measureConnects(network, services, options.connections, options.seed,
                      {.direct = true, .endpoints = endpoints, .cgroup = scratch.cgroup.path()});
  dataplane->cleanup();
  figures.fullSyncMs = median(full);
  figures.endpointChangeMs = median(change);
  figures.kernelKiB = median(kernel);
  return result;
}

NorthSouthFigures measureNorthSouth(const BenchNetwork& network, const proxy::DesiredState& state,
                                    int services, const ProxyBenchOptions& options,
                                    const EbpfScratch& scratch) {
  proxy::DesiredState withNodePort = state;
  for (auto& [key, port] : withNodePort.services) {
    if (port.clusterIP == clusterIPOf(wrkServiceOf(services))) port.nodePort = kNodePort;
  }
  proxy::EbpfDataplane dataplane(optionsOf(scratch, true));
  try {
    NorthSouthFigures figures;
    dataplane.syncAll(withNodePort);
    figures.nodePort = runWrkMedian(
        network, "",
        "http://" + std::string(BenchNetwork::kNodeIP) + ":" + std::to_string(kNodePort) + "/",
        options.wrkSeconds, options.wrkConnections, options.repetitions);
    figures.clusterConnect =
        measureConnects(network, services, options.connections, options.seed,
                        {.direct = false, .endpoints = 1, .cgroup = scratch.cgroup.path()});
    figures.clusterIP =
        runWrkMedian(network, scratch.cgroup.path(), wrkClusterUrl(services), options.wrkSeconds,
                     options.wrkConnections, options.repetitions);
    dataplane.cleanup();
    settle();
    return figures;
  } catch (...) {
    dataplane.cleanup();
    throw;
  }
}

}  // namespace kite::cmd::bench
