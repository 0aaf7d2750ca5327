// Topology aware routing in the desired state: when a Service port's endpoints are narrowed to
// the ones hinted for this node's zone, and every case where the hints are ignored.

#include <gtest/gtest.h>

#include "kite/proxy/desired_state.h"
#include "kite/proxy/topology_hints.h"

namespace kite::proxy {
namespace {

using api::core::v1::Service;
using api::discovery::v1::Endpoint;
using api::discovery::v1::EndpointSlice;

Service service(const std::map<std::string, std::string>& annotations) {
  Service s;
  s.metadata.namespace_ = "default";
  s.metadata.name = "web";
  s.metadata.annotations = annotations;
  s.spec.type = "ClusterIP";
  s.spec.clusterIP = "10.43.0.10";
  api::core::v1::ServicePort p;
  p.name = "http";
  p.protocol = "TCP";
  p.port = 80;
  s.spec.ports.push_back(p);
  return s;
}

Service autoService() { return service({{kTopologyModeAnnotation, "Auto"}}); }

// A ready endpoint on `node` hinted for `zones` (no hints at all when empty).
Endpoint endpoint(const std::string& ip, const std::vector<std::string>& zones,
                  const std::string& node = "other") {
  Endpoint e;
  e.addresses = {ip};
  e.conditions.ready = true;
  e.nodeName = node;
  if (!zones.empty()) {
    api::discovery::v1::EndpointHints hints;
    for (const auto& z : zones) hints.forZones.push_back({.name = z});
    e.hints = hints;
  }
  return e;
}

EndpointSlice slice(std::vector<Endpoint> eps) {
  EndpointSlice s;
  s.metadata.namespace_ = "default";
  s.metadata.name = "web-abc";
  s.metadata.labels[kServiceNameLabel] = "web";
  s.addressType = "IPv4";
  api::discovery::v1::EndpointPort p;
  p.name = "http";
  p.protocol = "TCP";
  p.port = 8080;
  s.ports.push_back(p);
  s.endpoints = std::move(eps);
  return s;
}

// Two endpoints for zone-a, one for zone-b, all hinted.
EndpointSlice hintedSlice() {
  return slice({endpoint("10.42.0.1", {"zone-a"}), endpoint("10.42.0.2", {"zone-a", "zone-c"}),
                endpoint("10.42.1.1", {"zone-b"})});
}

std::vector<std::string> ipsOf(const Service& svc, const EndpointSlice& s, const NodeInfo& node) {
  const auto state = computeDesiredState({svc}, {s}, node);
  std::vector<std::string> ips;
  for (const auto& e : state.services.at("default/web:http/tcp").endpoints) ips.push_back(e.ip);
  return ips;
}

std::vector<std::string> allIps() { return {"10.42.0.1", "10.42.0.2", "10.42.1.1"}; }
NodeInfo nodeInA() { return {.name = "n1", .zone = "zone-a"}; }

TEST(DesiredStateTopology, HintsForTheNodesZoneAreUsedWhenTheServiceOptsIn) {
  EXPECT_EQ(ipsOf(autoService(), hintedSlice(), nodeInA()),
            (std::vector<std::string>{"10.42.0.1", "10.42.0.2"}));
  EXPECT_EQ(ipsOf(autoService(), hintedSlice(), {.name = "n1", .zone = "zone-b"}),
            (std::vector<std::string>{"10.42.1.1"}));
  EXPECT_EQ(ipsOf(autoService(), hintedSlice(), {.name = "n1", .zone = "zone-c"}),
            (std::vector<std::string>{"10.42.0.2"}));
}

TEST(DesiredStateTopology, BothAnnotationNamesAndTheirAcceptedValuesOptIn) {
  const std::vector<std::string> zoneA{"10.42.0.1", "10.42.0.2"};
  for (const char* name : {kTopologyModeAnnotation, kTopologyAwareHintsAnnotation}) {
    for (const char* value : {"Auto", "auto"}) {
      EXPECT_EQ(ipsOf(service({{name, value}}), hintedSlice(), nodeInA()), zoneA)
          << name << "=" << value;
    }
    for (const char* value : {"Disabled", "disabled", "", "PreferZone"}) {
      EXPECT_EQ(ipsOf(service({{name, value}}), hintedSlice(), nodeInA()), allIps())
          << name << "=" << value;
    }
  }
  // The current annotation wins over the older one when both are set.
  EXPECT_EQ(ipsOf(service({{kTopologyModeAnnotation, "Disabled"},
                           {kTopologyAwareHintsAnnotation, "Auto"}}),
                  hintedSlice(), nodeInA()),
            allIps());
  // spec.trafficDistribution PreferClose, the annotation's successor, opts in as well.
  auto preferClose = service({});
  preferClose.spec.trafficDistribution = "PreferClose";
  EXPECT_EQ(ipsOf(preferClose, hintedSlice(), nodeInA()), zoneA);
}

TEST(DesiredStateTopology, HintsAreIgnoredWithoutTheAnnotation) {
  EXPECT_EQ(ipsOf(service({}), hintedSlice(), nodeInA()), allIps());
}

TEST(DesiredStateTopology, HintsAreIgnoredWhenOneReadyEndpointHasNone) {
  auto s = hintedSlice();
  s.endpoints.push_back(endpoint("10.42.2.1", {}));
  EXPECT_EQ(ipsOf(autoService(), s, nodeInA()),
            (std::vector<std::string>{"10.42.0.1", "10.42.0.2", "10.42.1.1", "10.42.2.1"}));
  // Hints with forNodes only (no forZones) count as missing zone hints.
  auto nodesOnly = hintedSlice();
  auto e = endpoint("10.42.2.1", {});
  e.hints = api::discovery::v1::EndpointHints{};
  e.hints->forNodes.push_back({.name = "n1"});
  nodesOnly.endpoints.push_back(e);
  EXPECT_EQ(ipsOf(autoService(), nodesOnly, nodeInA()).size(), 4U);
  // A not-ready endpoint without hints does not count: only ready ones are judged.
  auto notReady = hintedSlice();
  auto down = endpoint("10.42.2.1", {});
  down.conditions.ready = false;
  notReady.endpoints.push_back(down);
  EXPECT_EQ(ipsOf(autoService(), notReady, nodeInA()),
            (std::vector<std::string>{"10.42.0.1", "10.42.0.2"}));
}

TEST(DesiredStateTopology, HintsAreIgnoredWhenNoEndpointIsForThisZone) {
  EXPECT_EQ(ipsOf(autoService(), hintedSlice(), {.name = "n1", .zone = "zone-z"}), allIps());
}

TEST(DesiredStateTopology, HintsAreIgnoredWhenTheNodeHasNoZone) {
  EXPECT_EQ(ipsOf(autoService(), hintedSlice(), {.name = "n1"}), allIps());
}

TEST(DesiredStateTopology, LocalTrafficPoliciesAreUnaffected) {
  // One endpoint on this node, hinted for another zone: Local policy still sees it.
  auto s = slice({endpoint("10.42.0.1", {"zone-a"}), endpoint("10.42.1.1", {"zone-b"}, "n1")});
  auto internalLocal = autoService();
  internalLocal.spec.internalTrafficPolicy = "Local";
  auto state = computeDesiredState({internalLocal}, {s}, nodeInA());
  auto port = state.services.at("default/web:http/tcp");
  EXPECT_EQ(port.endpoints.size(), 2U);
  ASSERT_EQ(port.localEndpoints().size(), 1U);
  EXPECT_EQ(port.localEndpoints()[0].ip, "10.42.1.1");

  auto externalLocal = autoService();
  externalLocal.spec.type = "NodePort";
  externalLocal.spec.ports[0].nodePort = 30080;
  externalLocal.spec.externalTrafficPolicy = "Local";
  state = computeDesiredState({externalLocal}, {s}, nodeInA());
  port = state.services.at("default/web:http/tcp");
  EXPECT_TRUE(port.externalPolicyLocal);
  EXPECT_EQ(port.endpoints.size(), 2U);
  ASSERT_EQ(port.localEndpoints().size(), 1U);

  // The same NodePort with policy Cluster uses the hints.
  externalLocal.spec.externalTrafficPolicy = "Cluster";
  state = computeDesiredState({externalLocal}, {s}, nodeInA());
  port = state.services.at("default/web:http/tcp");
  ASSERT_EQ(port.endpoints.size(), 1U);
  EXPECT_EQ(port.endpoints[0].ip, "10.42.0.1");
}

TEST(DesiredStateTopology, TerminatingFallbackIgnoresHints) {
  // No ready endpoint: the serving-terminating ones are used whatever their hints.
  auto s = hintedSlice();
  for (auto& e : s.endpoints) {
    e.conditions.ready = false;
    e.conditions.serving = true;
    e.conditions.terminating = true;
  }
  EXPECT_EQ(ipsOf(autoService(), s, nodeInA()), allIps());
}

}  // namespace
}  // namespace kite::proxy
