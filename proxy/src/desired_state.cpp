// Services + EndpointSlices -> one ServicePortState per Service port.

#include "kite/proxy/desired_state.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <set>

#include "kite/proxy/topology_hints.h"

namespace kite::proxy {

namespace {

using api::core::v1::Service;
using api::discovery::v1::Endpoint;
using api::discovery::v1::EndpointSlice;

enum class Family { kIPv4, kIPv6 };

// `s` when it is an address of `family` (IPv6 in canonical form, so that it compares equal to
// what the kernel reports), else nullopt.
std::optional<std::string> addressIn(const std::string& s, Family family) {
  if (family == Family::kIPv4) {
    in_addr addr{};
    if (inet_pton(AF_INET, s.c_str(), &addr) != 1) return std::nullopt;
    return s;
  }
  in6_addr addr{};
  if (inet_pton(AF_INET6, s.c_str(), &addr) != 1) return std::nullopt;
  std::array<char, INET6_ADDRSTRLEN> text{};
  if (inet_ntop(AF_INET6, &addr, text.data(), text.size()) == nullptr) return std::nullopt;
  return std::string(text.data());
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// "TCP" when unset, as the API server defaults it.
std::string protocolOf(const std::optional<std::string>& p) {
  return lower(p.value_or("TCP").empty() ? "TCP" : p.value_or("TCP"));
}

bool isReady(const Endpoint& e) { return e.conditions.ready.value_or(true); }
bool isServingTerminating(const Endpoint& e) {
  return e.conditions.serving.value_or(false) && e.conditions.terminating.value_or(false);
}

// The endpoints of one Service port across the Service's slices.
std::vector<EndpointTarget> endpointsFor(const std::vector<const EndpointSlice*>& slices,
                                         const std::string& portName, const std::string& protocol,
                                         bool publishNotReady, const std::string& nodeName,
                                         Family family, TopologyFilter topology) {
  std::set<EndpointTarget> ready;
  std::set<EndpointTarget> terminating;
  for (const auto* slice : slices) {
    if (slice->addressType != (family == Family::kIPv4 ? "IPv4" : "IPv6")) continue;
    for (const auto& port : slice->ports) {
      if (port.name.value_or("") != portName || protocolOf(port.protocol) != protocol) continue;
      if (!port.port || *port.port <= 0) continue;
      for (const auto& endpoint : slice->endpoints) {
        for (const auto& address : endpoint.addresses) {
          auto ip = addressIn(address, family);
          if (!ip) continue;
          const bool local = !nodeName.empty() && endpoint.nodeName.value_or("") == nodeName;
          const EndpointTarget target{std::move(*ip), *port.port, local};
          if (publishNotReady || isReady(endpoint)) {
            topology.addReady(target, endpoint);
            ready.insert(target);
          } else if (isServingTerminating(endpoint)) {
            terminating.insert(target);
          }
        }
      }
    }
  }
  // Hints are judged on the ready endpoints alone; without any, the terminating fallback
  // ignores them (as upstream).
  const auto chosen = ready.empty() ? terminating : topology.apply(ready);
  return {chosen.begin(), chosen.end()};
}

}  // namespace

std::string ServicePortState::key() const {
  std::string key = namespace_ + "/" + name + ":" + portName + "/" + protocol;
  if (isIPv6()) key += "/ipv6";
  return key;
}

bool ServicePortState::isIPv6() const { return clusterIP.find(':') != std::string::npos; }

std::vector<EndpointTarget> ServicePortState::localEndpoints() const {
  std::vector<EndpointTarget> out;
  for (const auto& e : endpoints) {
    if (e.local) out.push_back(e);
  }
  return out;
}

namespace {

// The entries of one Service in one family, its ClusterIP of that family being `clusterIP`.
void addService(DesiredState& state, const Service& svc, const std::string& clusterIP,
                Family family, const std::vector<const EndpointSlice*>& serviceSlices,
                const NodeInfo& node) {
  const auto& spec = svc.spec;
  for (const auto& port : spec.ports) {
    ServicePortState s;
    s.namespace_ = svc.metadata.namespace_;
    s.name = svc.metadata.name;
    s.portName = port.name;
    s.protocol = protocolOf(port.protocol);
    s.clusterIP = clusterIP;
    s.port = port.port;
    if (spec.type == "NodePort" || spec.type == "LoadBalancer") s.nodePort = port.nodePort;
    std::set<std::string> external;
    for (const auto& ip : spec.externalIPs) {
      if (auto address = addressIn(ip, family)) external.insert(std::move(*address));
    }
    std::set<std::string> loadBalancer;
    if (spec.type == "LoadBalancer") {
      for (const auto& ingress : svc.status.loadBalancer.ingress) {
        if (auto address = addressIn(ingress.ip, family)) loadBalancer.insert(std::move(*address));
      }
      for (const auto& range : spec.loadBalancerSourceRanges) {
        // Upstream accepts surrounding blanks in a range; each family keeps its own ranges.
        const auto first = range.find_first_not_of(' ');
        const auto last = range.find_last_not_of(' ');
        if (first == std::string::npos) continue;
        const std::string trimmed = range.substr(first, last - first + 1);
        if (addressIn(trimmed.substr(0, trimmed.find('/')), family)) {
          s.loadBalancerSourceRanges.push_back(trimmed);
        }
      }
    }
    external.insert(loadBalancer.begin(), loadBalancer.end());
    s.externalIPs.assign(external.begin(), external.end());
    s.loadBalancerIPs.assign(loadBalancer.begin(), loadBalancer.end());
    const bool reachedFromOutside = s.nodePort > 0 || !s.externalIPs.empty();
    s.externalPolicyLocal = reachedFromOutside && spec.externalTrafficPolicy == "Local";
    if (s.externalPolicyLocal && spec.type == "LoadBalancer") {
      s.healthCheckNodePort = spec.healthCheckNodePort;
    }
    s.internalPolicyLocal = spec.internalTrafficPolicy.value_or("Cluster") == "Local";
    if (spec.sessionAffinity == "ClientIP") {
      int32_t timeout = 10800;  // upstream's default
      if (spec.sessionAffinityConfig && spec.sessionAffinityConfig->clientIP &&
          spec.sessionAffinityConfig->clientIP->timeoutSeconds) {
        timeout = *spec.sessionAffinityConfig->clientIP->timeoutSeconds;
      }
      s.affinityTimeoutSeconds = timeout;
    }
    // Hints only narrow Cluster-policy traffic. With one policy Local the port's endpoint list
    // serves both paths, so hints are left out for it entirely.
    const bool clusterPolicyOnly = !s.externalPolicyLocal && !s.internalPolicyLocal;
    const TopologyFilter topology(clusterPolicyOnly && topologyHintsRequested(svc), node.zone);
    s.endpoints = endpointsFor(serviceSlices, s.portName, s.protocol, spec.publishNotReadyAddresses,
                               node.name, family, topology);
    state.services.emplace(s.key(), std::move(s));
  }
}

}  // namespace

DesiredState computeDesiredState(const std::vector<Service>& services,
                                 const std::vector<EndpointSlice>& slices, const NodeInfo& node) {
  std::map<std::string, std::vector<const EndpointSlice*>> slicesByService;
  for (const auto& slice : slices) {
    const auto it = slice.metadata.labels.find(kServiceNameLabel);
    if (it == slice.metadata.labels.end()) continue;
    slicesByService[slice.metadata.namespace_ + "/" + it->second].push_back(&slice);
  }

  DesiredState state;
  for (const auto& svc : services) {
    if (svc.spec.type == "ExternalName") continue;
    const auto& serviceSlices = slicesByService[svc.metadata.namespace_ + "/" + svc.metadata.name];
    // One entry per family: spec.clusterIPs (the first is spec.clusterIP), or the older
    // spec.clusterIP alone. "None" (headless) is neither family.
    const auto& clusterIPs =
        svc.spec.clusterIPs.empty() ? std::vector{svc.spec.clusterIP} : svc.spec.clusterIPs;
    for (const Family family : {Family::kIPv4, Family::kIPv6}) {
      for (const auto& candidate : clusterIPs) {
        if (auto ip = addressIn(candidate, family)) {
          addService(state, svc, *ip, family, serviceSlices, node);
          break;
        }
      }
    }
  }
  return state;
}

}  // namespace kite::proxy
