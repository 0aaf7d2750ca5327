#include "cluster_endpoints.h"

#include <algorithm>
#include <map>

#include "kite/api/meta.h"

namespace kite::controlplane::controllers {

namespace {

namespace corev1 = api::core::v1;
namespace discoveryv1 = api::discovery::v1;

std::string protocolOf(const std::string& protocol) { return protocol.empty() ? "TCP" : protocol; }

// A pod that can be an endpoint at all.
bool hasAddress(const corev1::Pod& pod) {
  return !pod.status.podIP.empty() && pod.status.phase != "Succeeded" &&
         pod.status.phase != "Failed";
}

corev1::ObjectReference podReference(const corev1::Pod& pod) {
  corev1::ObjectReference ref;
  ref.kind = "Pod";
  ref.namespace_ = pod.metadata.namespace_;
  ref.name = pod.metadata.name;
  ref.uid = pod.metadata.uid;
  return ref;
}

// The Service's ports as this pod serves them (ports that do not resolve left out).
std::vector<discoveryv1::EndpointPort> slicePortsFor(const corev1::Service& service,
                                                     const corev1::Pod& pod) {
  std::vector<discoveryv1::EndpointPort> out;
  for (const auto& sp : service.spec.ports) {
    const auto target = clusterResolveTargetPort(sp, pod);
    if (!target) continue;
    discoveryv1::EndpointPort p;
    p.name = sp.name;
    p.protocol = protocolOf(sp.protocol);
    p.port = *target;
    p.appProtocol = sp.appProtocol;
    out.push_back(std::move(p));
  }
  return out;
}

// The DNS host name of the pod's endpoint: its hostname when its subdomain is the Service.
std::string hostnameFor(const corev1::Service& service, const corev1::Pod& pod) {
  if (!pod.spec.hostname.empty() && pod.spec.subdomain == service.metadata.name) {
    return pod.spec.hostname;
  }
  return {};
}

std::vector<const corev1::Pod*> sortedByName(std::vector<const corev1::Pod*> pods) {
  std::sort(pods.begin(), pods.end(), [](const corev1::Pod* a, const corev1::Pod* b) {
    return a->metadata.name < b->metadata.name;
  });
  return pods;
}

}  // namespace

std::optional<int32_t> clusterResolveTargetPort(const corev1::ServicePort& port,
                                                const corev1::Pod& pod) {
  if (port.targetPort.isInt()) {
    // An unset targetPort means the Service's port.
    return port.targetPort.intValue() != 0 ? port.targetPort.intValue() : port.port;
  }
  const std::string protocol = protocolOf(port.protocol);
  for (const auto& c : pod.spec.containers) {
    for (const auto& cp : c.ports) {
      if (cp.name == port.targetPort.strValue() && protocolOf(cp.protocol) == protocol) {
        return cp.containerPort;
      }
    }
  }
  return std::nullopt;
}

bool clusterPodIsReady(const corev1::Pod& pod) {
  const auto* ready = api::findCondition(pod.status.conditions, "Ready");
  return ready != nullptr && ready->status == "True";
}

std::vector<discoveryv1::EndpointSlice> clusterComputeEndpointSlices(
    const corev1::Service& service, const std::vector<const corev1::Pod*>& pods) {
  std::map<std::vector<std::string>, discoveryv1::EndpointSlice> byPorts;
  for (const auto* pod : sortedByName(pods)) {
    if (!hasAddress(*pod)) continue;
    auto ports = slicePortsFor(service, *pod);
    if (ports.empty() && !service.spec.ports.empty()) continue;
    std::vector<std::string> key;
    key.reserve(ports.size());
    for (const auto& p : ports) {
      key.push_back(p.name.value_or("") + "/" + p.protocol.value_or("") + "/" +
                    std::to_string(p.port.value_or(0)));
    }
    auto& slice = byPorts[key];
    slice.addressType = "IPv4";
    slice.ports = std::move(ports);
    discoveryv1::Endpoint e;
    e.addresses = {pod->status.podIP};
    const bool serving = clusterPodIsReady(*pod);
    const bool terminating = api::isBeingDeleted(pod->metadata);
    e.conditions.ready = service.spec.publishNotReadyAddresses || (serving && !terminating);
    e.conditions.serving = serving;
    e.conditions.terminating = terminating;
    if (auto h = hostnameFor(service, *pod); !h.empty()) e.hostname = h;
    if (!pod->spec.nodeName.empty()) e.nodeName = pod->spec.nodeName;
    e.targetRef = podReference(*pod);
    slice.endpoints.push_back(std::move(e));
  }
  // At most kMaxEndpointsPerSlice endpoints a slice (upstream's --max-endpoints-per-slice).
  std::vector<discoveryv1::EndpointSlice> out;
  out.reserve(byPorts.size());
  for (auto& [key, slice] : byPorts) {
    for (std::size_t i = 0; i < slice.endpoints.size(); i += kMaxEndpointsPerSlice) {
      discoveryv1::EndpointSlice chunk;
      chunk.addressType = slice.addressType;
      chunk.ports = slice.ports;
      const auto end = std::min(slice.endpoints.size(), i + kMaxEndpointsPerSlice);
      chunk.endpoints.assign(slice.endpoints.begin() + static_cast<std::ptrdiff_t>(i),
                             slice.endpoints.begin() + static_cast<std::ptrdiff_t>(end));
      out.push_back(std::move(chunk));
    }
  }
  return out;
}

std::vector<corev1::EndpointSubset> clusterComputeEndpointSubsets(
    const corev1::Service& service, const std::vector<const corev1::Pod*>& pods) {
  const bool publishNotReady = service.spec.publishNotReadyAddresses;
  std::map<std::vector<std::string>, corev1::EndpointSubset> byPorts;
  for (const auto* pod : sortedByName(pods)) {
    if (!hasAddress(*pod)) continue;
    if (api::isBeingDeleted(pod->metadata) && !publishNotReady) continue;
    std::vector<corev1::EndpointPort> ports;
    std::vector<std::string> key;
    for (const auto& p : slicePortsFor(service, *pod)) {
      corev1::EndpointPort ep;
      ep.name = p.name.value_or("");
      ep.port = p.port.value_or(0);
      ep.protocol = p.protocol.value_or("TCP");
      ep.appProtocol = p.appProtocol;
      key.push_back(ep.name + "/" + ep.protocol + "/" + std::to_string(ep.port));
      ports.push_back(std::move(ep));
    }
    if (ports.empty() && !service.spec.ports.empty()) continue;
    auto& subset = byPorts[key];
    subset.ports = std::move(ports);
    corev1::EndpointAddress address;
    address.ip = pod->status.podIP;
    address.hostname = hostnameFor(service, *pod);
    if (!pod->spec.nodeName.empty()) address.nodeName = pod->spec.nodeName;
    address.targetRef = podReference(*pod);
    if (publishNotReady || clusterPodIsReady(*pod)) {
      subset.addresses.push_back(std::move(address));
    } else {
      subset.notReadyAddresses.push_back(std::move(address));
    }
  }
  std::vector<corev1::EndpointSubset> out;
  out.reserve(byPorts.size());
  for (auto& [key, subset] : byPorts) out.push_back(std::move(subset));
  return out;
}

}  // namespace kite::controlplane::controllers
