#pragma once
// The proxy's desired state: what every Service port should do on this node, computed from
// Services and EndpointSlices alone (no kernel), so it is unit-tested and diffed cheaply.
//
//   auto state = proxy::computeDesiredState(services, slices, {.clusterCidr = "10.42.0.0/16"});
//   for (const auto& [key, port] : state.services) { ... }

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "kite/api/core/v1/types.h"
#include "kite/api/discovery/v1/types.h"

namespace kite::proxy {

// One backend of a Service port: where traffic is DNATed to.
struct EndpointTarget {
  std::string ip;
  int32_t port = 0;
  bool local = false;  // on this node (EndpointSlice endpoint nodeName == NodeInfo::name)

  bool operator==(const EndpointTarget&) const = default;
  bool operator<(const EndpointTarget& o) const { return ip != o.ip ? ip < o.ip : port < o.port; }
};

// One port of one Service in one IP family, everything the dataplane needs for it. A
// dual-stack Service port is two of these: the IPv4 one and the IPv6 one (clusterIP an IPv6
// literal, and only IPv6 externalIPs, loadBalancerIPs, source ranges and endpoints).
struct ServicePortState {
  std::string namespace_;
  std::string name;       // the Service's name
  std::string portName;   // ServicePort.name ("" for a single unnamed port)
  std::string protocol;   // "tcp", "udp" or "sctp" (nft spelling)
  std::string clusterIP;  // IPv6 literals in canonical (inet_ntop) form
  int32_t port = 0;
  int32_t nodePort = 0;  // 0: none
  // spec.externalIPs and status.loadBalancer.ingress[].ip: reached like the ClusterIP, but
  // from outside the cluster (so masqueraded).
  std::vector<std::string> externalIPs;
  // The subset of externalIPs from status.loadBalancer.ingress, and the client ranges
  // allowed to reach them (spec.loadBalancerSourceRanges; empty: everyone).
  std::vector<std::string> loadBalancerIPs{};
  std::vector<std::string> loadBalancerSourceRanges{};
  // externalTrafficPolicy Local: NodePort/external traffic goes to this node's endpoints
  // only, with the client's address kept; healthCheckNodePort reports how many there are.
  bool externalPolicyLocal = false;
  int32_t healthCheckNodePort = 0;
  // internalTrafficPolicy Local: ClusterIP traffic goes to this node's endpoints only.
  bool internalPolicyLocal = false;
  // sessionAffinity ClientIP: seconds a client sticks to its endpoint.
  std::optional<int32_t> affinityTimeoutSeconds;
  // Sorted, unique.
  std::vector<EndpointTarget> endpoints;

  // "namespace/name:portName/protocol" for IPv4, with "/ipv6" appended for IPv6: the key of
  // DesiredState::services (both families of a dual-stack port side by side).
  std::string key() const;
  // The family of this entry (of its clusterIP, and so of all its addresses).
  bool isIPv6() const;
  // The endpoints on this node.
  std::vector<EndpointTarget> localEndpoints() const;
  bool operator==(const ServicePortState&) const = default;
};

struct DesiredState {
  std::map<std::string, ServicePortState> services;
  bool operator==(const DesiredState&) const = default;
};

// Node-level inputs.
struct NodeInfo {
  std::string name;
  // The Node's topology.kubernetes.io/zone label ("" unknown): picks the zone-hinted
  // endpoints of Services that opted in to topology aware routing.
  std::string zone{};
};

// The label that ties an EndpointSlice to its Service.
inline constexpr const char* kServiceNameLabel = "kubernetes.io/service-name";

// Services without a ClusterIP (headless, ExternalName) are left out. Each address of
// spec.clusterIPs (spec.clusterIP when that is empty) gives one entry per port in its family,
// with the externalIPs, LoadBalancer ingress IPs, source ranges and EndpointSlices
// (addressType IPv4 / IPv6) of that family. Endpoints: the ready ones (a missing condition
// counts as ready); when a port has none, the serving-and-terminating ones (upstream's
// terminating fallback). Topology aware routing (topology_hints.h): for a Service that opted
// in, with both traffic policies Cluster, every ready endpoint of the port hinted and at least
// one hinted for `node.zone`, the port keeps only the endpoints hinted for that zone.
DesiredState computeDesiredState(const std::vector<api::core::v1::Service>& services,
                                 const std::vector<api::discovery::v1::EndpointSlice>& slices,
                                 const NodeInfo& node = {});

}  // namespace kite::proxy
