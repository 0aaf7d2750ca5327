#include "kite/proxy/nft_rules.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace kite::proxy::nft {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

ServicePortState web() {
  ServicePortState p;
  p.namespace_ = "default";
  p.name = "web";
  p.portName = "http";
  p.protocol = "tcp";
  p.clusterIP = "10.43.0.10";
  p.port = 80;
  p.endpoints = {{"10.42.1.2", 8080}, {"10.42.2.2", 8080}};
  return p;
}

DesiredState stateOf(const std::vector<ServicePortState>& ports) {
  DesiredState s;
  for (const auto& p : ports) s.services.emplace(p.key(), p);
  return s;
}

std::string chainStarting(const ServicePortRender& r, const std::string& prefix) {
  for (const auto& [name, rules] : r.chains) {
    if (name.rfind(prefix, 0) == 0) return name;
  }
  return {};
}

TEST(NftRules, ClusterIPLoadBalancesOverEndpointChains) {
  const auto r = renderServicePort(web(), {.clusterCidr = "10.42.0.0/16"});
  const auto svc = chainStarting(r, "service-");
  ASSERT_THAT(svc, HasSubstr("-default/web/tcp/http"));
  ASSERT_EQ(r.elements.at("service-ips").size(), 1U);
  EXPECT_EQ(r.elements.at("service-ips")[0], "10.43.0.10 . tcp . 80 : goto " + svc);
  const auto& rules = r.chains.at(svc);
  ASSERT_EQ(rules.size(), 2U);
  EXPECT_EQ(rules[0],
            "ip daddr 10.43.0.10 meta l4proto tcp th dport 80 ip saddr != 10.42.0.0/16 jump "
            "mark-for-masquerade");
  EXPECT_THAT(rules[1], HasSubstr("numgen random mod 2 vmap { 0 : goto endpoint-"));
  EXPECT_THAT(rules[1], HasSubstr("__10.42.1.2/8080, 1 : goto endpoint-"));
  EXPECT_EQ(r.chains.size(), 3U);  // service + 2 endpoints, no external chain
  for (const auto& [name, epRules] : r.chains) {
    if (name == svc) continue;
    ASSERT_EQ(epRules.size(), 2U);
    EXPECT_THAT(epRules[0], HasSubstr("jump mark-for-masquerade"));  // hairpin
    EXPECT_THAT(epRules[1], HasSubstr("meta l4proto tcp dnat ip to 10.42."));
  }
  EXPECT_TRUE(r.sets.empty());
}

TEST(NftRules, NoEndpointsRejects) {
  auto p = web();
  p.endpoints.clear();
  p.nodePort = 30080;
  p.externalIPs = {"192.168.5.5"};
  const auto r = renderServicePort(p, {});
  EXPECT_TRUE(r.chains.empty());
  EXPECT_FALSE(r.elements.contains("service-ips"));
  const std::vector<std::string> ips{"10.43.0.10 . tcp . 80 : goto reject-chain",
                                     "192.168.5.5 . tcp . 80 : goto reject-chain"};
  EXPECT_EQ(r.elements.at("no-endpoint-services"), ips);
  const std::vector<std::string> ports{"tcp . 30080 : goto reject-chain"};
  EXPECT_EQ(r.elements.at("no-endpoint-nodeports"), ports);
}

TEST(NftRules, NodePortAndExternalIPsGoThroughAMasqueradingChain) {
  auto p = web();
  p.nodePort = 30080;
  p.externalIPs = {"192.168.5.5"};
  const auto r = renderServicePort(p, {});
  const auto ext = chainStarting(r, "external-");
  const auto svc = chainStarting(r, "service-");
  const std::vector<std::string> extRules{"jump mark-for-masquerade", "goto " + svc};
  EXPECT_EQ(r.chains.at(ext), extRules);
  EXPECT_EQ(r.elements.at("service-nodeports")[0], "tcp . 30080 : goto " + ext);
  EXPECT_EQ(r.elements.at("service-ips")[1], "192.168.5.5 . tcp . 80 : goto " + ext);
  // Without a cluster CIDR nothing is marked in the service chain itself.
  EXPECT_EQ(r.chains.at(svc).size(), 1U);
}

TEST(NftRules, AffinityUsesDynamicSetsWithTimeout) {
  auto p = web();
  p.affinityTimeoutSeconds = 60;
  const auto r = renderServicePort(p, {});
  ASSERT_EQ(r.sets.size(), 2U);
  for (const auto& [name, definition] : r.sets) {
    EXPECT_THAT(name, HasSubstr("affinity-"));
    EXPECT_EQ(definition, "{ type ipv4_addr ; flags dynamic,timeout ; timeout 60s ; }");
  }
  const auto& svcRules = r.chains.at(chainStarting(r, "service-"));
  ASSERT_EQ(svcRules.size(), 3U);
  EXPECT_THAT(svcRules[0], HasSubstr("ip saddr @affinity-"));
  EXPECT_THAT(svcRules[0], HasSubstr(" goto endpoint-"));
  const auto& epRules = r.chains.at(chainStarting(r, "endpoint-"));
  EXPECT_THAT(epRules[1], HasSubstr("update @affinity-"));
  EXPECT_THAT(epRules[1], HasSubstr("{ ip saddr }"));
}

TEST(NftRules, FullRenderReplacesTheTableInOneGo) {
  const auto text = renderFull(stateOf({web()}), {});
  EXPECT_EQ(text.rfind("add table inet kite-proxy\ndelete table inet kite-proxy\nadd table inet "
                       "kite-proxy\n",
                       0),
            0U);
  EXPECT_THAT(text, HasSubstr("add chain inet kite-proxy nat-output { type nat hook output "
                              "priority -100 ; }"));
  EXPECT_THAT(text, HasSubstr("add element inet kite-proxy service-ips { 10.43.0.10 . tcp . 80 "
                              ": goto service-"));
  // Chains exist before rules jump to them.
  EXPECT_LT(text.find("add chain inet kite-proxy endpoint-"),
            text.find("add rule inet kite-proxy service-"));
}

TEST(NftRules, ChangesTouchOnlyTheChangedServicePort) {
  auto db = web();
  db.name = "db";
  db.clusterIP = "10.43.0.20";
  const auto before = stateOf({web(), db});
  auto smaller = web();
  smaller.endpoints.pop_back();
  const auto after = stateOf({smaller, db});
  const auto text = renderChanges(before, after, {});
  EXPECT_THAT(text, Not(HasSubstr("table inet kite-proxy\n")));
  EXPECT_THAT(text, Not(HasSubstr("default/db/")));
  EXPECT_THAT(text, HasSubstr("flush chain inet kite-proxy service-"));
  EXPECT_THAT(text, HasSubstr("delete chain inet kite-proxy endpoint-"));
  EXPECT_THAT(text, HasSubstr("__10.42.2.2/8080\n"));
  EXPECT_THAT(text, HasSubstr("numgen random mod 1 vmap"));
  // The map element still points at the same chain: not rewritten.
  EXPECT_THAT(text, Not(HasSubstr("element")));
  // Deleted chains are flushed first, and after the rule that jumped to them went away.
  EXPECT_LT(text.find("flush chain inet kite-proxy service-"),
            text.find("delete chain inet kite-proxy endpoint-"));

  EXPECT_EQ(renderChanges(after, after, {}), "");
}

TEST(NftRules, RemovingTheLastEndpointMovesTheServiceToReject) {
  auto none = web();
  none.endpoints.clear();
  const auto text = renderChanges(stateOf({web()}), stateOf({none}), {});
  EXPECT_THAT(text,
              HasSubstr("delete element inet kite-proxy service-ips { 10.43.0.10 . tcp . 80 }"));
  EXPECT_THAT(text, HasSubstr("add element inet kite-proxy no-endpoint-services { 10.43.0.10 . "
                              "tcp . 80 : goto reject-chain }"));
  EXPECT_LT(text.find("delete element"), text.find("delete chain"));
}

TEST(NftRules, Cleanup) {
  EXPECT_EQ(renderCleanup(), "add table inet kite-proxy\ndelete table inet kite-proxy\n");
}

}  // namespace
}  // namespace kite::proxy::nft
