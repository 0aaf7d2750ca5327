// The measurements of one point of `kite bench netpol` (bench_netpol.h): for each backend, R
// full syncs onto an empty table (each removed again to see the kernel memory it held), then
// the table once more, connects over allowed and denied paths, R one-pod changes.

#include "bench_netpol.h"

#include <array>
#include <chrono>
#include <cstdio>
#include <random>
#include <set>
#include <stdexcept>
#include <thread>

#include "bench_iptables.h"
#include "bench_netpol_iptables.h"
#include "bench_netpol_paths.h"
#include "bench_netpol_workload.h"
#include "kite/proxy/network_policy_dataplane.h"
#include "kite/proxy/network_policy_rules.h"

namespace kite::cmd::bench {

namespace {

using proxy::netpol::State;

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

// The kernel memory the rules hold, as what removing them frees: read just before and just
// after the removal (and the RCU grace period), not across a sync that takes seconds at large
// N, so the machine's other work adds less noise.
template <class Fn>
double kernelFreedBy(Fn&& remove) {
  const double loaded = kernelMemoryKiB();
  remove();
  settle();
  return loaded - kernelMemoryKiB();
}

State compute(const NetpolWorkload& w) {
  auto state = proxy::netpol::computeState(w.policies, w.pods, w.namespaces, kBenchNode);
  if (!state.errors.empty()) {
    throw std::runtime_error("the generated policies are invalid: " + state.errors.front());
  }
  return state;
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

// The states the one-pod changes go through: states[0] is the full sync's, states[r + 1]
// follows states[r] by one relabelled pod (local and peer pods in turn), with a change that
// reaches the rules.
struct ChangeSequence {
  std::vector<State> states;
  std::vector<double> computeMs;
};

ChangeSequence makeChanges(NetpolWorkload workload, const State& initial,
                           const NetpolBenchOptions& options) {
  ChangeSequence sequence;
  sequence.states.push_back(initial);
  std::mt19937 random(options.seed + 1);
  for (int r = 0; r < options.repetitions; ++r) {
    for (int attempt = 0;; ++attempt) {
      relabelOnePod(workload, r % 2 == 0, random);
      State next;
      sequence.computeMs.push_back(millisecondsOf([&] { next = compute(workload); }));
      // A pod no policy looks at changes no rule; try another (the timing is the same).
      if (next != sequence.states.back() || attempt == 50) {
        sequence.states.push_back(std::move(next));
        break;
      }
    }
  }
  return sequence;
}

NetpolFigures measureNftables(const BenchNetwork& network, const ChangeSequence& changes,
                              const NetpolPaths& paths, const NetpolBenchOptions& options) {
  NetpolFigures figures;
  const State& state = changes.states.front();
  proxy::netpol::NftablesRunner runner;
  std::vector<double> full;
  std::vector<double> change;
  std::vector<double> kernel;
  for (int r = 0; r < options.repetitions; ++r) {
    runner.cleanup();
    settle();
    full.push_back(millisecondsOf([&] { runner.syncAll(state); }));
    kernel.push_back(kernelFreedBy([&] { runner.cleanup(); }));
  }
  runner.syncAll(state);
  figures.rssMiB = residentMiB();
  figures.rulesKiB = static_cast<double>(runner.listTable().size()) / 1024.0;
  const auto ruleset = proxy::netpol::nft::render(state);
  figures.rules = 8;  // the two base chains' rules (established, neighbour discovery, two maps)
  for (const auto& [name, body] : ruleset.chains) figures.rules += body.size();
  for (const auto& [name, set] : ruleset.sets) figures.setElements += set.elements.size();
  settle();  // connects measure the steady state, not the kernel's after-work of the load
  const auto results = measurePaths(network.clientPath(), paths);
  figures.allowed = results.allowed;
  figures.deniedRefused = results.deniedRefused;
  figures.deniedAttempted = results.deniedAttempted;
  for (std::size_t r = 0; r + 1 < changes.states.size(); ++r) {
    change.push_back(
        millisecondsOf([&] { runner.syncChanges(changes.states[r], changes.states[r + 1]); }));
  }
  runner.cleanup();
  figures.fullSyncMs = median(full);
  figures.changeMs = median(change);
  figures.kernelKiB = median(kernel);
  return figures;
}

NetpolFigures measureIptables(const BenchNetwork& network, const ChangeSequence& changes,
                              const NetpolPaths& paths, const NetpolBenchOptions& options,
                              const std::string& scratchDir) {
  NetpolFigures figures;
  const State& state = changes.states.front();
  const auto restore = [&](const std::string& input) {
    iptablesRestore(options.iptablesRestore, input, scratchDir, false);
  };
  std::vector<double> full;
  std::vector<double> change;
  std::vector<double> kernel;
  for (int r = 0; r < options.repetitions; ++r) {
    restore(renderIptablesFilterEmpty());
    settle();
    // As those engines sync: write the whole table's text, then one iptables-restore.
    full.push_back(millisecondsOf([&] { restore(renderIptablesFilter(state)); }));
    kernel.push_back(kernelFreedBy([&] { restore(renderIptablesFilterEmpty()); }));
  }
  restore(renderIptablesFilter(state));
  figures.rules = countRules(renderIptablesFilter(state));
  figures.rulesKiB =
      static_cast<double>(captureOutput(options.iptablesRestore.ends_with("legacy-restore")
                                            ? "iptables-legacy-save -t filter"
                                            : "iptables-save -t filter")
                              .size()) /
      1024.0;
  settle();  // connects measure the steady state, not the kernel's after-work of the load
  const auto results = measurePaths(network.clientPath(), paths);
  figures.allowed = results.allowed;
  figures.deniedRefused = results.deniedRefused;
  figures.deniedAttempted = results.deniedAttempted;
  for (std::size_t r = 0; r + 1 < changes.states.size(); ++r) {
    // The whole table again for any change.
    change.push_back(millisecondsOf([&] { restore(renderIptablesFilter(changes.states[r + 1])); }));
  }
  restore(renderIptablesFilterEmpty());
  figures.fullSyncMs = median(full);
  figures.changeMs = median(change);
  figures.kernelKiB = median(kernel);
  return figures;
}

}  // namespace

void addPeerRoutes(const BenchNetwork& network) {
  {
    const NetnsScope inClient(network.clientPath());
    runProgram({"ip", "route", "add", "local", kPeerCidr, "dev", "lo"});
  }
  const NetnsScope inNode(network.nodePath());
  runProgram({"ip", "route", "add", kPeerCidr, "via", "10.99.0.2"});
}

NetpolBenchPoint measureNetpolPoint(const BenchNetwork& network, int policies,
                                    const NetpolBenchOptions& options,
                                    const std::string& scratchDir) {
  NetpolBenchPoint point;
  point.policies = policies;
  const auto workload = makeNetpolWorkload(policies, options.pods, options.peers, options.seed);
  std::vector<double> computeMs;
  computeMs.reserve(static_cast<std::size_t>(options.repetitions));
  State state;
  for (int r = 0; r < options.repetitions; ++r) {
    computeMs.push_back(millisecondsOf([&] { state = compute(workload); }));
  }
  point.computeMs = median(computeMs);
  point.enforcedPolicies = static_cast<int>(state.policies.size());
  std::set<std::string> isolated;
  for (const auto& [key, policy] : state.policies) {
    isolated.insert(policy.ingressTargets.begin(), policy.ingressTargets.end());
  }
  point.isolatedPods = static_cast<int>(isolated.size());
  const auto changes = makeChanges(workload, state, options);
  point.computeChangeMs = median(changes.computeMs);
  const auto paths = samplePaths(state, options.connections, options.denied, options.seed);
  // The rules go into the node namespace only: this thread (and the iptables-restore it
  // starts) works there until the scope ends.
  const NetnsScope inNode(network.nodePath());
  point.nftables = measureNftables(network, changes, paths, options);
  point.iptables = measureIptables(network, changes, paths, options, scratchDir);
  return point;
}

}  // namespace kite::cmd::bench
