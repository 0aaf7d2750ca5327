#pragma once
// Topology aware routing (EndpointSlice hints.forZones), as kube-proxy consumes it: a
// Service port's Cluster-policy endpoints narrowed to those hinted for this node's zone, when
// the hints are complete and usable; otherwise every endpoint, as without hints.
//
//   TopologyFilter filter(topologyHintsRequested(svc), node.zone);
//   for (each ready endpoint target) filter.addReady(target, endpoint);
//   auto chosen = filter.apply(readyTargets);

#include <set>
#include <string>

#include "kite/api/core/v1/types.h"
#include "kite/api/discovery/v1/types.h"
#include "kite/proxy/desired_state.h"

namespace kite::proxy {

// The Service annotations that opt in to hints: the current name, then the one used before
// Kubernetes 1.27 (read only when the current one is absent).
inline constexpr const char* kTopologyModeAnnotation = "service.kubernetes.io/topology-mode";
inline constexpr const char* kTopologyAwareHintsAnnotation =
    "service.kubernetes.io/topology-aware-hints";
// The Node label naming its zone.
inline constexpr const char* kZoneLabel = "topology.kubernetes.io/zone";

// Whether the Service asks for its endpoints' hints to be used: the annotation is "Auto" (or
// "auto", as upstream accepts), or spec.trafficDistribution is "PreferClose" (the field that
// replaces the annotation; the EndpointSlice controller hints those Services too).
bool topologyHintsRequested(const api::core::v1::Service& service);

// Collects the ready endpoints of one Service port and decides whether their zone hints apply.
class TopologyFilter {
 public:
  // `enabled`: the Service opted in and its port uses Cluster policy (hints never apply to
  // Local policies); `zone`: this node's zone, "" when unknown (hints are then ignored).
  TopologyFilter(bool enabled, std::string zone) : enabled_(enabled), zone_(std::move(zone)) {}

  // One ready endpoint's target and the endpoint it came from.
  void addReady(const EndpointTarget& target, const api::discovery::v1::Endpoint& endpoint);

  // `ready` narrowed to the targets hinted for the zone when every ready endpoint carried
  // zone hints and one of them is for this zone; `ready` itself otherwise.
  std::set<EndpointTarget> apply(const std::set<EndpointTarget>& ready) const;

 private:
  bool enabled_;
  std::string zone_;
  bool allHinted_ = true;
  std::set<EndpointTarget> forZone_;
};

}  // namespace kite::proxy
