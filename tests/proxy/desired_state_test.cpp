#include "kite/proxy/desired_state.h"

#include <gtest/gtest.h>

namespace kite::proxy {
namespace {

using api::core::v1::Service;
using api::discovery::v1::EndpointSlice;

Service service(const std::string& name, const std::string& clusterIP) {
  Service s;
  s.metadata.namespace_ = "default";
  s.metadata.name = name;
  s.spec.type = "ClusterIP";
  s.spec.clusterIP = clusterIP;
  api::core::v1::ServicePort p;
  p.name = "http";
  p.protocol = "TCP";
  p.port = 80;
  p.targetPort = 8080;
  s.spec.ports.push_back(p);
  return s;
}

api::discovery::v1::Endpoint endpoint(const std::string& ip, std::optional<bool> ready,
                                      std::optional<bool> serving = {},
                                      std::optional<bool> terminating = {}) {
  api::discovery::v1::Endpoint e;
  e.addresses = {ip};
  e.conditions.ready = ready;
  e.conditions.serving = serving;
  e.conditions.terminating = terminating;
  return e;
}

EndpointSlice slice(const std::string& service, std::vector<api::discovery::v1::Endpoint> eps) {
  EndpointSlice s;
  s.metadata.namespace_ = "default";
  s.metadata.name = service + "-abc";
  s.metadata.labels[kServiceNameLabel] = service;
  s.addressType = "IPv4";
  api::discovery::v1::EndpointPort p;
  p.name = "http";
  p.protocol = "TCP";
  p.port = 8080;
  s.ports.push_back(p);
  s.endpoints = std::move(eps);
  return s;
}

TEST(DesiredState, ClusterIPWithReadyEndpointsOnly) {
  const auto state = computeDesiredState(
      {service("web", "10.43.0.10")},
      {slice("web", {endpoint("10.42.0.5", true), endpoint("10.42.0.4", std::nullopt),
                     endpoint("10.42.0.6", false)})});
  ASSERT_EQ(state.services.size(), 1U);
  const auto& p = state.services.at("default/web:http/tcp");
  EXPECT_EQ(p.clusterIP, "10.43.0.10");
  EXPECT_EQ(p.port, 80);
  EXPECT_EQ(p.protocol, "tcp");
  EXPECT_EQ(p.nodePort, 0);
  EXPECT_FALSE(p.affinityTimeoutSeconds);
  const std::vector<EndpointTarget> want{{"10.42.0.4", 8080}, {"10.42.0.5", 8080}};
  EXPECT_EQ(p.endpoints, want);
}

TEST(DesiredState, TerminatingServingEndpointsAreTheFallback) {
  const auto state = computeDesiredState(
      {service("web", "10.43.0.10")}, {slice("web", {endpoint("10.42.0.5", false, true, true),
                                                     endpoint("10.42.0.6", false, false, true)})});
  const std::vector<EndpointTarget> want{{"10.42.0.5", 8080}};
  EXPECT_EQ(state.services.at("default/web:http/tcp").endpoints, want);

  // With one ready endpoint the terminating one is not used.
  const auto ready = computeDesiredState(
      {service("web", "10.43.0.10")},
      {slice("web", {endpoint("10.42.0.5", false, true, true), endpoint("10.42.0.7", true)})});
  const std::vector<EndpointTarget> only{{"10.42.0.7", 8080}};
  EXPECT_EQ(ready.services.at("default/web:http/tcp").endpoints, only);
}

TEST(DesiredState, EndpointsOfOtherServicesPortsAndProtocolsAreIgnored) {
  auto other = slice("db", {endpoint("10.42.0.9", true)});
  auto udp = slice("web", {endpoint("10.42.0.8", true)});
  udp.ports[0].protocol = "UDP";
  auto named = slice("web", {endpoint("10.42.0.7", true)});
  named.ports[0].name = "metrics";
  const auto state = computeDesiredState({service("web", "10.43.0.10")}, {other, udp, named});
  EXPECT_TRUE(state.services.at("default/web:http/tcp").endpoints.empty());
}

TEST(DesiredState, HeadlessAndExternalNameServicesAreSkipped) {
  auto headless = service("h", "None");
  auto external = service("e", "");
  external.spec.type = "ExternalName";
  external.spec.externalName = "example.com";
  EXPECT_TRUE(computeDesiredState({headless, external}, {}).services.empty());
}

TEST(DesiredState, NodePortExternalIPsLoadBalancerAndAffinity) {
  auto s = service("web", "10.43.0.10");
  s.spec.type = "LoadBalancer";
  s.spec.ports[0].nodePort = 30080;
  s.spec.externalIPs = {"192.168.5.5", "fd00::1"};
  api::core::v1::LoadBalancerIngress ingress;
  ingress.ip = "192.168.5.1";
  s.status.loadBalancer.ingress.push_back(ingress);
  s.spec.sessionAffinity = "ClientIP";
  const auto state = computeDesiredState({s}, {});
  const auto& p = state.services.at("default/web:http/tcp");
  EXPECT_EQ(p.nodePort, 30080);
  const std::vector<std::string> ips{"192.168.5.1", "192.168.5.5"};
  EXPECT_EQ(p.externalIPs, ips);
  EXPECT_EQ(p.affinityTimeoutSeconds, 10800);

  s.spec.sessionAffinityConfig.emplace().clientIP.emplace().timeoutSeconds = 60;
  EXPECT_EQ(computeDesiredState({s}, {}).services.at("default/web:http/tcp").affinityTimeoutSeconds,
            60);
  // A ClusterIP Service keeps a stale nodePort out of the rules.
  s.spec.type = "ClusterIP";
  EXPECT_EQ(computeDesiredState({s}, {}).services.at("default/web:http/tcp").nodePort, 0);
}

TEST(DesiredState, PublishNotReadyAddressesUsesEveryEndpoint) {
  auto s = service("web", "10.43.0.10");
  s.spec.publishNotReadyAddresses = true;
  const auto state = computeDesiredState({s}, {slice("web", {endpoint("10.42.0.6", false)})});
  EXPECT_EQ(state.services.at("default/web:http/tcp").endpoints.size(), 1U);
}

}  // namespace
}  // namespace kite::proxy

namespace kite::proxy {
namespace {

TEST(DesiredState, TrafficPoliciesLocalEndpointsAndSourceRanges) {
  auto svc = service("lb", "10.43.0.30");
  svc.spec.type = "LoadBalancer";
  svc.spec.ports[0].nodePort = 30030;
  svc.spec.externalTrafficPolicy = "Local";
  svc.spec.healthCheckNodePort = 32030;
  svc.spec.internalTrafficPolicy = "Local";
  svc.spec.loadBalancerSourceRanges = {" 10.99.0.0/24 ", "fd00::/64"};
  api::core::v1::LoadBalancerIngress ingress;
  ingress.ip = "192.0.2.30";
  svc.status.loadBalancer.ingress.push_back(ingress);
  svc.spec.externalIPs = {"192.0.2.31"};
  auto here = endpoint("10.42.0.5", true);
  here.nodeName = "node1";
  auto there = endpoint("10.42.1.5", true);
  there.nodeName = "node2";
  const auto state = computeDesiredState({svc}, {slice("lb", {here, there})}, {.name = "node1"});
  const auto& p = state.services.at("default/lb:http/tcp");
  EXPECT_TRUE(p.externalPolicyLocal);
  EXPECT_TRUE(p.internalPolicyLocal);
  EXPECT_EQ(p.healthCheckNodePort, 32030);
  EXPECT_EQ(p.externalIPs, (std::vector<std::string>{"192.0.2.30", "192.0.2.31"}));
  EXPECT_EQ(p.loadBalancerIPs, (std::vector<std::string>{"192.0.2.30"}));
  EXPECT_EQ(p.loadBalancerSourceRanges, (std::vector<std::string>{"10.99.0.0/24"}));
  ASSERT_EQ(p.endpoints.size(), 2U);
  EXPECT_EQ(p.localEndpoints(), (std::vector<EndpointTarget>{{"10.42.0.5", 8080, true}}));

  // A ClusterIP Service has no external traffic: its externalTrafficPolicy means nothing.
  auto plain = service("plain", "10.43.0.31");
  plain.spec.externalTrafficPolicy = "Local";
  const auto other = computeDesiredState({plain}, {}, {.name = "node1"});
  EXPECT_FALSE(other.services.at("default/plain:http/tcp").externalPolicyLocal);
}

}  // namespace
}  // namespace kite::proxy

namespace kite::proxy {
namespace {

EndpointSlice slice6(const std::string& service, std::vector<api::discovery::v1::Endpoint> eps) {
  auto s = slice(service, std::move(eps));
  s.metadata.name = service + "-v6";
  s.addressType = "IPv6";
  return s;
}

TEST(DesiredState, DualStackServiceIsOneEntryPerFamily) {
  auto svc = service("web", "10.43.0.10");
  svc.spec.clusterIPs = {"10.43.0.10", "FD00:43::A"};
  svc.spec.ipFamilies = {"IPv4", "IPv6"};
  svc.spec.type = "LoadBalancer";
  svc.spec.ports[0].nodePort = 30080;
  svc.spec.externalIPs = {"192.0.2.5", "fd00:99::5"};
  svc.spec.loadBalancerSourceRanges = {"10.99.0.0/24", " fd00:99::/64 "};
  api::core::v1::LoadBalancerIngress v4;
  v4.ip = "192.0.2.1";
  api::core::v1::LoadBalancerIngress v6;
  v6.ip = "fd00:99:0:0::1";
  svc.status.loadBalancer.ingress = {v4, v6};
  svc.spec.sessionAffinity = "ClientIP";
  const auto state = computeDesiredState(
      {svc}, {slice("web", {endpoint("10.42.0.5", true)}),
              slice6("web", {endpoint("fd00:42:0::5", true), endpoint("fd00:42::6", false)})});
  ASSERT_EQ(state.services.size(), 2U);

  const auto& p4 = state.services.at("default/web:http/tcp");
  EXPECT_FALSE(p4.isIPv6());
  EXPECT_EQ(p4.clusterIP, "10.43.0.10");
  EXPECT_EQ(p4.externalIPs, (std::vector<std::string>{"192.0.2.1", "192.0.2.5"}));
  EXPECT_EQ(p4.loadBalancerIPs, (std::vector<std::string>{"192.0.2.1"}));
  EXPECT_EQ(p4.loadBalancerSourceRanges, (std::vector<std::string>{"10.99.0.0/24"}));
  EXPECT_EQ(p4.endpoints, (std::vector<EndpointTarget>{{"10.42.0.5", 8080}}));

  const auto& p6 = state.services.at("default/web:http/tcp/ipv6");
  EXPECT_TRUE(p6.isIPv6());
  EXPECT_EQ(p6.key(), "default/web:http/tcp/ipv6");
  // Addresses in canonical form, as the kernel reports them (conntrack) and nft prints them.
  EXPECT_EQ(p6.clusterIP, "fd00:43::a");
  EXPECT_EQ(p6.port, 80);
  EXPECT_EQ(p6.nodePort, 30080);
  EXPECT_EQ(p6.affinityTimeoutSeconds, 10800);
  EXPECT_EQ(p6.externalIPs, (std::vector<std::string>{"fd00:99::1", "fd00:99::5"}));
  EXPECT_EQ(p6.loadBalancerIPs, (std::vector<std::string>{"fd00:99::1"}));
  EXPECT_EQ(p6.loadBalancerSourceRanges, (std::vector<std::string>{"fd00:99::/64"}));
  EXPECT_EQ(p6.endpoints, (std::vector<EndpointTarget>{{"fd00:42::5", 8080}}));
}

TEST(DesiredState, SingleStackIPv6Service) {
  auto svc = service("web", "fd00:43::10");
  svc.spec.clusterIPs = {"fd00:43::10"};
  svc.spec.ipFamilies = {"IPv6"};
  // An IPv4 slice (or an IPv4 address in an IPv6 slice) is not for the IPv6 entry.
  const auto state = computeDesiredState(
      {svc}, {slice("web", {endpoint("10.42.0.5", true)}),
              slice6("web", {endpoint("fd00:42::5", true), endpoint("10.42.0.6", true)})});
  ASSERT_EQ(state.services.size(), 1U);
  const auto& p = state.services.at("default/web:http/tcp/ipv6");
  EXPECT_EQ(p.clusterIP, "fd00:43::10");
  EXPECT_EQ(p.endpoints, (std::vector<EndpointTarget>{{"fd00:42::5", 8080}}));

  // Older objects without clusterIPs: spec.clusterIP alone decides the family.
  svc.spec.clusterIPs.clear();
  EXPECT_TRUE(computeDesiredState({svc}, {}).services.contains("default/web:http/tcp/ipv6"));
  // Headless in both fields: nothing.
  svc.spec.clusterIP = "None";
  svc.spec.clusterIPs = {"None"};
  EXPECT_TRUE(computeDesiredState({svc}, {}).services.empty());
}

TEST(DesiredState, IPv4KeysAreUnchangedBesideIPv6Ones) {
  auto svc = service("dns", "10.43.0.53");
  svc.spec.ports[0].name = "";
  svc.spec.ports[0].protocol = "UDP";
  svc.spec.clusterIPs = {"10.43.0.53", "fd00:43::35"};
  const auto state = computeDesiredState({svc}, {});
  std::vector<std::string> keys;
  for (const auto& [key, port] : state.services) keys.push_back(key);
  EXPECT_EQ(keys, (std::vector<std::string>{"default/dns:/udp", "default/dns:/udp/ipv6"}));
}

}  // namespace
}  // namespace kite::proxy
