#pragma once
// What a Service's endpoints are, from its selector's pods (pure, for the endpointslice
// controller and its tests), with upstream's rules:
//  - pods without an IP or in a terminal phase are left out;
//  - EndpointSlice conditions: serving = the pod is Ready, terminating = it is being deleted,
//    ready = serving and not terminating (or always, with publishNotReadyAddresses);
//  - legacy Endpoints: ready pods under addresses, others under notReadyAddresses (all under
//    addresses with publishNotReadyAddresses); terminating pods only with
//    publishNotReadyAddresses;
//  - a named targetPort is resolved per pod from its containers' ports (name and protocol); a
//    pod where it cannot be resolved serves the Service's other ports only, so pods are grouped
//    by the ports they resolve to: one slice (and one Endpoints subset) per group.

#include <cstddef>
#include <vector>

#include "kite/api/core/v1/types.h"
#include "kite/api/discovery/v1/types.h"

namespace kite::controlplane::controllers {

// The container port a Service port leads to on this pod; nullopt when a named port is not
// found.
std::optional<int32_t> clusterResolveTargetPort(const api::core::v1::ServicePort& port,
                                                const api::core::v1::Pod& pod);

bool clusterPodIsReady(const api::core::v1::Pod& pod);

constexpr std::size_t kMaxEndpointsPerSlice = 100;

// Endpoints and ports of each slice (metadata left empty), ordered by ports, at most
// kMaxEndpointsPerSlice endpoints each; empty when no pod qualifies.
std::vector<api::discovery::v1::EndpointSlice> clusterComputeEndpointSlices(
    const api::core::v1::Service& service, const std::vector<const api::core::v1::Pod*>& pods);

std::vector<api::core::v1::EndpointSubset> clusterComputeEndpointSubsets(
    const api::core::v1::Service& service, const std::vector<const api::core::v1::Pod*>& pods);

}  // namespace kite::controlplane::controllers
