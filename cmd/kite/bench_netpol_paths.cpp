// Allowed and denied paths of `kite bench netpol` and the connects over them
// (bench_netpol_paths.h).

#include "bench_netpol_paths.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <exception>
#include <random>
#include <stdexcept>
#include <thread>

#include "bench_netpol_workload.h"
#include "bench_network.h"

namespace kite::cmd::bench {

namespace {

using proxy::netpol::AddressRange;
using proxy::netpol::PolicyState;
using proxy::netpol::RuleState;

std::uint32_t addressOf(const std::string& ip) {
  in_addr address{};
  if (inet_pton(AF_INET, ip.c_str(), &address) != 1) {
    throw std::invalid_argument("not IPv4: " + ip);
  }
  return ntohl(address.s_addr);
}

bool contains(const std::vector<AddressRange>& ranges, std::uint32_t address) {
  return std::any_of(ranges.begin(), ranges.end(), [&](const AddressRange& r) {
    return r.first <= address && address <= r.last;
  });
}

bool portAllowed(const RuleState& rule, std::uint32_t destination, int port) {
  if (rule.allPorts) return true;
  for (const auto& p : rule.ports) {
    if (p.protocol == "tcp" && p.first <= port && port <= p.last) return true;
  }
  return std::any_of(rule.podPorts.begin(), rule.podPorts.end(), [&](const auto& p) {
    return p.protocol == "tcp" && p.port == port && addressOf(p.ip) == destination;
  });
}

bool ruleAllows(const RuleState& rule, std::uint32_t source, std::uint32_t destination, int port) {
  return (rule.allPeers || contains(rule.peers, source)) && portAllowed(rule, destination, port);
}

// One connect from `source`; its duration in µs, or a negative value when it failed.
double timedConnect(const Path& path) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  const timeval timeout{.tv_sec = 1, .tv_usec = 0};
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
  sockaddr_in local{};
  local.sin_family = AF_INET;
  inet_pton(AF_INET, path.source.c_str(), &local.sin_addr);
  sockaddr_in remote{};
  remote.sin_family = AF_INET;
  remote.sin_port = htons(kPolicyPort);
  inet_pton(AF_INET, path.destination.c_str(), &remote.sin_addr);
  if (bind(fd, reinterpret_cast<const sockaddr*>(&local), sizeof local) != 0) {
    close(fd);
    throw std::runtime_error("cannot bind to " + path.source + " in the client namespace");
  }
  const auto start = std::chrono::steady_clock::now();
  const int rc = connect(fd, reinterpret_cast<const sockaddr*>(&remote), sizeof remote);
  const auto end = std::chrono::steady_clock::now();
  // Reset instead of FIN: no TIME_WAIT piles up over thousands of samples.
  const linger reset{.l_onoff = 1, .l_linger = 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
  close(fd);
  if (rc != 0) return -1;
  return std::chrono::duration<double, std::micro>(end - start).count();
}

// A random address of kPeerCidr (10.64.0.0/16) inside `ranges`, or 0 when none is.
std::uint32_t pickIn(const std::vector<AddressRange>& ranges, std::mt19937& random) {
  static const std::uint32_t first = addressOf("10.64.0.1");
  static const std::uint32_t last = addressOf("10.64.255.254");
  std::vector<AddressRange> inside;
  for (const auto& r : ranges) {
    const AddressRange clipped{std::max(r.first, first), std::min(r.last, last)};
    if (clipped.first <= clipped.last) inside.push_back(clipped);
  }
  if (inside.empty()) return 0;
  std::uniform_int_distribution<std::size_t> which(0, inside.size() - 1);
  const auto& r = inside[which(random)];
  std::uniform_int_distribution<std::uint32_t> at(r.first, r.last);
  return at(random);
}

}  // namespace

bool stateAllows(const proxy::netpol::State& state, std::uint32_t source, std::uint32_t destination,
                 int port) {
  bool isolated = false;
  for (const auto& [key, policy] : state.policies) {
    const bool selects =
        std::any_of(policy.ingressTargets.begin(), policy.ingressTargets.end(),
                    [&](const std::string& ip) { return addressOf(ip) == destination; });
    if (!selects) continue;
    isolated = true;
    for (const auto& rule : policy.ingress) {
      if (ruleAllows(rule, source, destination, port)) return true;
    }
  }
  return !isolated;
}

NetpolPaths samplePaths(const proxy::netpol::State& state, int allowed, int denied,
                        std::uint32_t seed) {
  std::vector<const PolicyState*> isolating;
  for (const auto& [key, policy] : state.policies) {
    if (!policy.ingressTargets.empty()) isolating.push_back(&policy);
  }
  if (isolating.empty()) throw std::runtime_error("the policies isolate no pod of this node");
  std::mt19937 random(seed);
  std::uniform_int_distribution<std::size_t> whichPolicy(0, isolating.size() - 1);
  const auto anyTarget = [&](const PolicyState& policy) {
    std::uniform_int_distribution<std::size_t> which(0, policy.ingressTargets.size() - 1);
    return policy.ingressTargets[which(random)];
  };
  const std::vector<AddressRange> everyPeer = {
      {addressOf("10.64.0.1"), addressOf("10.64.255.254")}};
  NetpolPaths paths;
  // Give up after many misses rather than loop forever on a state that admits almost nothing.
  const long long budget = 1000LL * (allowed + denied) + 10000;
  long long tries = 0;
  while (static_cast<int>(paths.allowed.size()) < allowed && ++tries < budget) {
    const auto& policy = *isolating[whichPolicy(random)];
    if (policy.ingress.empty()) continue;
    std::uniform_int_distribution<std::size_t> whichRule(0, policy.ingress.size() - 1);
    const auto& rule = policy.ingress[whichRule(random)];
    const std::string destination = anyTarget(policy);
    if (!portAllowed(rule, addressOf(destination), kPolicyPort)) continue;
    const std::uint32_t source = pickIn(rule.allPeers ? everyPeer : rule.peers, random);
    if (source == 0 || (source & 0xffU) == 0 || (source & 0xffU) == 0xffU) continue;
    if (!stateAllows(state, source, addressOf(destination), kPolicyPort)) continue;
    paths.allowed.push_back({proxy::netpol::formatAddress(source), destination});
  }
  while (static_cast<int>(paths.denied.size()) < denied && ++tries < budget) {
    const std::string destination = anyTarget(*isolating[whichPolicy(random)]);
    const std::uint32_t source = pickIn(everyPeer, random);
    if ((source & 0xffU) == 0 || (source & 0xffU) == 0xffU) continue;
    if (stateAllows(state, source, addressOf(destination), kPolicyPort)) continue;
    paths.denied.push_back({proxy::netpol::formatAddress(source), destination});
  }
  if (static_cast<int>(paths.allowed.size()) < allowed ||
      static_cast<int>(paths.denied.size()) < denied) {
    throw std::runtime_error("could not find enough allowed and denied paths in the policies");
  }
  return paths;
}

PathResults measurePaths(const std::string& clientNsPath, const NetpolPaths& paths) {
  PathResults results;
  std::exception_ptr error;
  std::thread client([&] {
    try {
      const NetnsScope inClient(clientNsPath);
      // Warm-up: neighbour entries and the first conntrack work are not what we time.
      for (std::size_t i = 0; i < std::min<std::size_t>(20, paths.allowed.size()); ++i) {
        timedConnect(paths.allowed[i]);
      }
      std::vector<double> samples;
      samples.reserve(paths.allowed.size());
      for (const auto& path : paths.allowed) {
        const double us = timedConnect(path);
        if (us >= 0) samples.push_back(us);
      }
      results.allowed.attempted = static_cast<int>(paths.allowed.size());
      results.allowed.succeeded = static_cast<int>(samples.size());
      results.allowed.p50Us = percentile(samples, 50);
      results.allowed.p99Us = percentile(samples, 99);
      for (const auto& path : paths.denied) {
        if (timedConnect(path) < 0) ++results.deniedRefused;
      }
      results.deniedAttempted = static_cast<int>(paths.denied.size());
    } catch (...) {
      error = std::current_exception();
    }
  });
  client.join();
  if (error) std::rethrow_exception(error);
  return results;
}

}  // namespace kite::cmd::bench
