// Topology aware routing: which of a Service port's endpoints this node's zone uses.

#include "kite/proxy/topology_hints.h"

#include <algorithm>

namespace kite::proxy {

bool topologyHintsRequested(const api::core::v1::Service& service) {
  const auto& annotations = service.metadata.annotations;
  auto it = annotations.find(kTopologyModeAnnotation);
  // An empty current annotation counts as absent, so the older one still applies then.
  if (it == annotations.end() || it->second.empty()) {
    it = annotations.find(kTopologyAwareHintsAnnotation);
  }
  if (it != annotations.end() && (it->second == "Auto" || it->second == "auto")) return true;
  return service.spec.trafficDistribution.value_or("") == "PreferClose";
}

void TopologyFilter::addReady(const EndpointTarget& target,
                              const api::discovery::v1::Endpoint& endpoint) {
  if (!enabled_) return;
  if (!endpoint.hints || endpoint.hints->forZones.empty()) {
    allHinted_ = false;
    return;
  }
  const auto& zones = endpoint.hints->forZones;
  if (std::any_of(zones.begin(), zones.end(), [&](const auto& z) { return z.name == zone_; })) {
    forZone_.insert(target);
  }
}

std::set<EndpointTarget> TopologyFilter::apply(const std::set<EndpointTarget>& ready) const {
  // An unknown zone matches no hint, so forZone_ is empty then and every endpoint is used.
  if (!enabled_ || zone_.empty() || !allHinted_ || forZone_.empty()) return ready;
  return forZone_;
}

}  // namespace kite::proxy
