// Which UDP conntrack entries a sync leaves stale (pure; the netns test shows the deletion).

#include "kite/proxy/stale_conntrack.h"

#include <gtest/gtest.h>

namespace kite::proxy {
namespace {

ServicePortState udp(std::vector<EndpointTarget> endpoints) {
  ServicePortState p;
  p.namespace_ = "default";
  p.name = "dns";
  p.protocol = "udp";
  p.clusterIP = "10.43.0.10";
  p.port = 53;
  p.nodePort = 30053;
  p.externalIPs = {"192.0.2.7"};
  p.endpoints = std::move(endpoints);
  return p;
}

DesiredState stateOf(const std::vector<ServicePortState>& ports) {
  DesiredState s;
  for (const auto& p : ports) s.services.emplace(p.key(), p);
  return s;
}

TEST(StaleConntrack, ARemovedEndpointIsStaleOnEveryServiceAddress) {
  const auto before = stateOf({udp({{"10.42.0.5", 5353}, {"10.42.0.6", 5353}})});
  const auto after = stateOf({udp({{"10.42.0.6", 5353}})});
  const StaleConntrack stale(&before, after);
  ASSERT_FALSE(stale.empty());
  EXPECT_TRUE(stale.matches("10.43.0.10", 53, "10.42.0.5", 5353));
  EXPECT_TRUE(stale.matches("192.0.2.7", 53, "10.42.0.5", 5353));
  EXPECT_TRUE(stale.matches("10.99.0.1", 30053, "10.42.0.5", 5353));  // NodePort, any address
  EXPECT_FALSE(stale.matches("10.43.0.10", 53, "10.42.0.6", 5353));   // still an endpoint
  EXPECT_FALSE(stale.matches("10.43.0.99", 53, "10.42.0.5", 5353));   // another address
  EXPECT_FALSE(stale.matches("10.43.0.10", 54, "10.42.0.5", 5353));   // another port
}

TEST(StaleConntrack, FlowsOfAServiceThatHadNoEndpointsAreStale) {
  const auto before = stateOf({udp({})});
  const auto after = stateOf({udp({{"10.42.0.6", 5353}})});
  // Not DNATed: the reply would come from the ClusterIP itself.
  EXPECT_TRUE(StaleConntrack(&before, after).matches("10.43.0.10", 53, "10.43.0.10", 53));
}

TEST(StaleConntrack, UnchangedAndTcpServicePortsAreNotLookedAt) {
  auto tcp = udp({{"10.42.0.5", 80}});
  tcp.protocol = "tcp";
  tcp.clusterIP = "10.43.0.20";
  const auto state = stateOf({udp({{"10.42.0.5", 5353}}), tcp});
  EXPECT_TRUE(StaleConntrack(&state, state).empty());
  auto changedTcp = tcp;
  changedTcp.endpoints.clear();
  EXPECT_TRUE(StaleConntrack(&state, stateOf({udp({{"10.42.0.5", 5353}}), changedTcp})).empty());
}

TEST(StaleConntrack, AFullSyncChecksEveryUdpPortAndARemovedPortLosesAllFlows) {
  const auto state = stateOf({udp({{"10.42.0.5", 5353}})});
  const StaleConntrack full(nullptr, state);
  EXPECT_TRUE(full.matches("10.43.0.10", 53, "10.42.0.9", 5353));
  EXPECT_FALSE(full.matches("10.43.0.10", 53, "10.42.0.5", 5353));
  const StaleConntrack removed(&state, DesiredState{});
  EXPECT_TRUE(removed.matches("10.43.0.10", 53, "10.42.0.5", 5353));
}

TEST(StaleConntrack, IPv6PortsAreMatchedInTheirOwnFamily) {
  auto v6 = udp({{"fd00:42::5", 5353}, {"fd00:42::6", 5353}});
  v6.clusterIP = "fd00:43::10";
  v6.externalIPs = {};
  auto v6After = v6;
  v6After.endpoints.pop_back();
  // The IPv4 half of the same dual-stack port (same NodePort) does not change.
  const auto v4 = udp({{"10.42.0.5", 5353}});
  const auto before = stateOf({v4, v6});
  const StaleConntrack stale(&before, stateOf({v4, v6After}));
  EXPECT_FALSE(stale.ipv4());
  EXPECT_TRUE(stale.ipv6());
  EXPECT_TRUE(stale.matches("fd00:43::10", 53, "fd00:42::6", 5353));
  EXPECT_FALSE(stale.matches("fd00:43::10", 53, "fd00:42::5", 5353));
  EXPECT_TRUE(stale.matches("fd00:99::1", 30053, "fd00:42::6", 5353));  // IPv6 NodePort
  // IPv4 flows to the same NodePort are the unchanged IPv4 port's: left alone.
  EXPECT_FALSE(stale.matches("10.99.0.1", 30053, "10.42.0.5", 5353));
  EXPECT_TRUE(StaleConntrack(nullptr, stateOf({v4})).ipv4());
  EXPECT_FALSE(StaleConntrack(nullptr, stateOf({v4})).ipv6());
}

}  // namespace
}  // namespace kite::proxy
