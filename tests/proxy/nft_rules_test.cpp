#include "kite/proxy/nft_rules.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <sstream>

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

TEST(NftRules, PlainClusterIPIsOnlyMapElementsAndASharedChain) {
  const auto r = renderServicePort(web(), {.clusterCidr = "10.42.0.0/16"});
  EXPECT_TRUE(r.chains.empty());
  EXPECT_TRUE(r.sets.empty());
  const std::vector<std::string> ips{"10.43.0.10 . tcp . 80 : goto cluster-2"};
  EXPECT_EQ(r.elements.at("service-ips"), ips);
  const std::vector<std::string> endpoints{"10.43.0.10 . tcp . 80 . 0 : 10.42.1.2 . 8080",
                                           "10.43.0.10 . tcp . 80 . 1 : 10.42.2.2 . 8080"};
  EXPECT_EQ(r.elements.at("service-endpoints"), endpoints);
  EXPECT_EQ(r.hairpin, (std::set<std::string>{"10.42.1.2", "10.42.2.2"}));
}

TEST(NftRules, TheSharedChainsComeWithTheTable) {
  const auto text = renderFull(DesiredState{}, {.clusterCidr = "10.42.0.0/16"});
  EXPECT_THAT(text, HasSubstr("add rule inet kite-proxy cluster-2 ip saddr != 10.42.0.0/16 jump "
                              "mark-for-masquerade\n"
                              "add rule inet kite-proxy cluster-2 meta l4proto { tcp, udp, sctp } "
                              "dnat ip addr . port to ip daddr . meta l4proto . th dport . numgen "
                              "random mod 2 map @service-endpoints\n"));
  EXPECT_THAT(text, HasSubstr("add chain inet kite-proxy nodeport-16\n"));
  EXPECT_THAT(text, Not(HasSubstr("cluster-17")));
}

TEST(NftRules, PortsWithMoreEndpointsThanSharedChainsGetTheirOwn) {
  auto big = web();
  big.endpoints.clear();
  for (int i = 0; i < 17; ++i) big.endpoints.push_back({"10.42.9." + std::to_string(i), 8080});
  std::sort(big.endpoints.begin(), big.endpoints.end());
  const auto r = renderServicePort(big, {});
  EXPECT_FALSE(r.elements.contains("service-endpoints"));
  const auto svc = chainStarting(r, "service-");
  EXPECT_EQ(r.elements.at("service-ips")[0], "10.43.0.10 . tcp . 80 : goto " + svc);
  EXPECT_EQ(r.chains.size(), 18U);
  EXPECT_THAT(r.chains.at(svc)[0], HasSubstr("numgen random mod 17 == 0 goto endpoint-"));
  EXPECT_EQ(r.hairpin.size(), 17U);
}

TEST(NftRules, AffinityPortsHaveTheirOwnChainsBalancedWithoutAnonymousMaps) {
  auto p = web();
  p.affinityTimeoutSeconds = 60;
  const auto r = renderServicePort(p, {.clusterCidr = "10.42.0.0/16"});
  const auto svc = chainStarting(r, "service-");
  ASSERT_THAT(svc, HasSubstr("-default/web/tcp/http"));
  EXPECT_EQ(r.elements.at("service-ips")[0], "10.43.0.10 . tcp . 80 : goto " + svc);
  const auto& rules = r.chains.at(svc);
  ASSERT_EQ(rules.size(), 5U);
  EXPECT_EQ(rules[0],
            "ip daddr 10.43.0.10 meta l4proto tcp th dport 80 ip saddr != 10.42.0.0/16 jump "
            "mark-for-masquerade");
  // Each endpoint with the same chance: 1/2, then the rest.
  EXPECT_THAT(rules[3], HasSubstr("numgen random mod 2 == 0 goto endpoint-"));
  EXPECT_THAT(rules[3], HasSubstr("__10.42.1.2/8080"));
  EXPECT_THAT(rules[4], ::testing::StartsWith("goto endpoint-"));
  EXPECT_THAT(rules[4], HasSubstr("__10.42.2.2/8080"));
  for (const auto& rule : rules) EXPECT_THAT(rule, Not(HasSubstr("vmap")));
  EXPECT_EQ(r.chains.size(), 3U);  // service + 2 endpoints, no external chain
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

TEST(NftRules, NodePortAndExternalIPsGoThroughMasqueradingSharedChains) {
  auto p = web();
  p.nodePort = 30080;
  p.externalIPs = {"192.168.5.5"};
  const auto r = renderServicePort(p, {});
  EXPECT_TRUE(r.chains.empty());
  EXPECT_EQ(r.elements.at("service-nodeports")[0], "tcp . 30080 : goto nodeport-2");
  EXPECT_EQ(r.elements.at("service-ips")[1], "192.168.5.5 . tcp . 80 : goto external-2");
  EXPECT_EQ(r.elements.at("nodeport-endpoints")[1], "tcp . 30080 . 1 : 10.42.2.2 . 8080");
  EXPECT_EQ(r.elements.at("service-endpoints")[2], "192.168.5.5 . tcp . 80 . 0 : 10.42.1.2 . 8080");
  const auto text = renderFull(stateOf({p}), {});
  EXPECT_THAT(text, HasSubstr("add rule inet kite-proxy external-2 jump mark-for-masquerade\n"
                              "add rule inet kite-proxy external-2 meta l4proto { tcp, udp, sctp "
                              "} dnat ip addr . port to ip daddr . meta l4proto . th dport . "
                              "numgen random mod 2 map @service-endpoints\n"));
  EXPECT_THAT(text, HasSubstr("add rule inet kite-proxy nodeport-2 jump mark-for-masquerade\n"
                              "add rule inet kite-proxy nodeport-2 meta l4proto { tcp, udp, sctp "
                              "} dnat ip addr . port to meta l4proto . th dport . numgen random "
                              "mod 2 map @nodeport-endpoints\n"));
  // Without a cluster CIDR nothing is marked on the ClusterIP path.
  EXPECT_THAT(text, HasSubstr("add chain inet kite-proxy cluster-2\n"
                              "add rule inet kite-proxy cluster-2 meta l4proto"));
}

TEST(NftRules, ExternalTrafficPolicyLocalKeepsItsOwnChains) {
  auto p = web();
  p.nodePort = 30080;
  p.externalPolicyLocal = true;
  p.endpoints[1].local = true;
  const auto r = renderServicePort(p, {.clusterCidr = "10.42.0.0/16"});
  const auto ext = chainStarting(r, "external-");
  const auto svc = chainStarting(r, "service-");
  const auto& rules = r.chains.at(ext);
  ASSERT_EQ(rules.size(), 4U);
  EXPECT_EQ(rules[0], "ip saddr 10.42.0.0/16 goto " + svc);
  EXPECT_EQ(rules[1], "fib saddr type local jump mark-for-masquerade");
  EXPECT_EQ(rules[2], "fib saddr type local goto " + svc);
  EXPECT_THAT(rules[3], ::testing::StartsWith("goto endpoint-"));
  EXPECT_THAT(rules[3], HasSubstr("__10.42.2.2/8080"));
  EXPECT_EQ(r.elements.at("service-nodeports")[0], "tcp . 30080 : goto " + ext);
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
  ASSERT_EQ(svcRules.size(), 4U);
  EXPECT_THAT(svcRules[0], HasSubstr("ip saddr @affinity-"));
  EXPECT_THAT(svcRules[0], HasSubstr(" goto endpoint-"));
  const auto& epRules = r.chains.at(chainStarting(r, "endpoint-"));
  ASSERT_EQ(epRules.size(), 2U);
  EXPECT_THAT(epRules[0], HasSubstr("update @affinity-"));
  EXPECT_THAT(epRules[0], HasSubstr("{ ip saddr }"));
  EXPECT_THAT(epRules[1], HasSubstr("meta l4proto tcp dnat ip to 10.42."));
}

TEST(NftRules, FullRenderReplacesTheTableInOneGo) {
  auto sticky = web();
  sticky.name = "sticky";
  sticky.clusterIP = "10.43.0.30";
  sticky.affinityTimeoutSeconds = 30;
  const auto text = renderFull(stateOf({web(), sticky}), {});
  EXPECT_EQ(text.rfind("add table inet kite-proxy\ndelete table inet kite-proxy\nadd table inet "
                       "kite-proxy\n",
                       0),
            0U);
  EXPECT_THAT(text, HasSubstr("add chain inet kite-proxy nat-output { type nat hook output "
                              "priority -100 ; }"));
  EXPECT_THAT(text, HasSubstr("add rule inet kite-proxy nat-postrouting ct status dnat ip saddr "
                              ". ip daddr @hairpin jump mark-for-masquerade\n"));
  EXPECT_THAT(text, HasSubstr("10.43.0.10 . tcp . 80 : goto cluster-2"));
  // Both ports share the endpoint addresses: each is in the hairpin set once.
  EXPECT_THAT(text, HasSubstr("add element inet kite-proxy hairpin { 10.42.1.2 . 10.42.1.2, "
                              "10.42.2.2 . 10.42.2.2 }\n"));
  // Chains exist before rules and elements jump to them.
  EXPECT_LT(text.find("add chain inet kite-proxy endpoint-"),
            text.find("add rule inet kite-proxy service-"));
  EXPECT_LT(text.find("add rule inet kite-proxy cluster-2"), text.find("add element"));
}

// Lines of `text` that are not map or set element commands.
std::vector<std::string> nonElementLines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) {
    if (l.rfind("add element ", 0) != 0 && l.rfind("delete element ", 0) != 0) out.push_back(l);
  }
  return out;
}

TEST(NftRules, AReplacedEndpointIsOnlyElementCommands) {
  auto db = web();
  db.name = "db";
  db.clusterIP = "10.43.0.20";
  auto moved = web();
  moved.endpoints[1].ip = "10.42.3.3";  // a pod replaced by one elsewhere
  const auto text = renderChanges(stateOf({web(), db}), stateOf({moved, db}), {});
  EXPECT_THAT(nonElementLines(text), ::testing::IsEmpty()) << text;
  EXPECT_EQ(text,
            "delete element inet kite-proxy service-endpoints { 10.43.0.10 . tcp . 80 . 1 }\n"
            "add element inet kite-proxy service-endpoints { 10.43.0.10 . tcp . 80 . 1 : "
            "10.42.3.3 . 8080 }\n"
            "add element inet kite-proxy hairpin { 10.42.3.3 . 10.42.3.3 }\n");
  // db still has 10.42.2.2: it stays in the hairpin set. Without db it goes.
  EXPECT_THAT(renderChanges(stateOf({web()}), stateOf({moved}), {}),
              HasSubstr("delete element inet kite-proxy hairpin { 10.42.2.2 . 10.42.2.2 }\n"));
}

TEST(NftRules, AnotherEndpointCountMovesThePortToAnotherSharedChain) {
  auto db = web();
  db.name = "db";
  db.clusterIP = "10.43.0.20";
  auto smaller = web();
  smaller.endpoints.pop_back();
  const auto before = stateOf({web(), db});
  const auto after = stateOf({smaller, db});
  const auto text = renderChanges(before, after, {});
  EXPECT_THAT(nonElementLines(text), ::testing::IsEmpty()) << text;
  EXPECT_EQ(text,
            "delete element inet kite-proxy service-endpoints { 10.43.0.10 . tcp . 80 . 1 }\n"
            "delete element inet kite-proxy service-ips { 10.43.0.10 . tcp . 80 }\n"
            "add element inet kite-proxy service-ips { 10.43.0.10 . tcp . 80 : goto cluster-1 "
            "}\n");  // db keeps 10.42.2.2 in the hairpin set

  // Once no port has 10.42.2.2, it leaves the hairpin set.
  auto dbSmaller = db;
  dbSmaller.endpoints.pop_back();
  EXPECT_THAT(renderChanges(after, stateOf({smaller, dbSmaller}), {}),
              HasSubstr("delete element inet kite-proxy hairpin { 10.42.2.2 . 10.42.2.2 }\n"));
  EXPECT_EQ(renderChanges(after, after, {}), "");
}

TEST(NftRules, ChangesOfAnAffinityPortRewriteOnlyItsChains) {
  auto sticky = web();
  sticky.affinityTimeoutSeconds = 30;
  auto db = web();
  db.name = "db";
  db.clusterIP = "10.43.0.20";
  auto smaller = sticky;
  smaller.endpoints.pop_back();
  const auto text = renderChanges(stateOf({sticky, db}), stateOf({smaller, db}), {});
  EXPECT_THAT(text, Not(HasSubstr("table inet kite-proxy\n")));
  EXPECT_THAT(text, Not(HasSubstr("default/db/")));
  EXPECT_THAT(text, HasSubstr("flush chain inet kite-proxy service-"));
  EXPECT_THAT(text, HasSubstr("delete chain inet kite-proxy endpoint-"));
  EXPECT_THAT(text, HasSubstr("delete set inet kite-proxy affinity-"));
  EXPECT_THAT(text, HasSubstr("__10.42.2.2/8080\n"));
  // The map element still points at the same chain: not rewritten.
  EXPECT_THAT(text, Not(HasSubstr("element")));
  // Deleted chains are flushed first, and after the rule that jumped to them went away.
  EXPECT_LT(text.find("flush chain inet kite-proxy service-"),
            text.find("delete chain inet kite-proxy endpoint-"));
}

TEST(NftRules, RemovingTheLastEndpointMovesTheServiceToReject) {
  auto none = web();
  none.endpoints.clear();
  const auto text = renderChanges(stateOf({web()}), stateOf({none}), {});
  EXPECT_THAT(text,
              HasSubstr("delete element inet kite-proxy service-ips { 10.43.0.10 . tcp . 80 }"));
  EXPECT_THAT(text, HasSubstr("add element inet kite-proxy no-endpoint-services { 10.43.0.10 . "
                              "tcp . 80 : goto reject-chain }"));
  EXPECT_THAT(text, HasSubstr("delete element inet kite-proxy service-endpoints { 10.43.0.10 . "
                              "tcp . 80 . 0, 10.43.0.10 . tcp . 80 . 1 }\n"));
  EXPECT_THAT(text, Not(HasSubstr("chain inet")));
}

TEST(NftRules, ChangedPortsHoldOnlyWhatDiffers) {
  auto db = web();
  db.name = "db";
  db.clusterIP = "10.43.0.20";
  auto cache = web();
  cache.name = "cache";
  cache.clusterIP = "10.43.0.30";
  auto moved = web();
  moved.endpoints[1].ip = "10.42.3.3";
  // web changes, db goes, cache is new; an unchanged port is in neither half.
  auto keep = web();
  keep.name = "keep";
  keep.clusterIP = "10.43.0.40";
  const auto changed = changedPorts(stateOf({web(), db, keep}), stateOf({moved, cache, keep}));
  EXPECT_EQ(changed.before, stateOf({web(), db}));
  EXPECT_EQ(changed.after, stateOf({moved, cache}));
  EXPECT_EQ(renderChanges(changed, stateOf({moved, cache, keep}), {}),
            renderChanges(stateOf({web(), db, keep}), stateOf({moved, cache, keep}), {}));
}

TEST(NftRules, ChangedPortsFromKeysLookAtTheNamedPortsOnly) {
  auto db = web();
  db.name = "db";
  db.clusterIP = "10.43.0.20";
  auto cache = web();
  cache.name = "cache";
  cache.clusterIP = "10.43.0.30";
  auto moved = web();
  moved.endpoints[1].ip = "10.42.3.3";
  auto keep = web();
  keep.name = "keep";
  keep.clusterIP = "10.43.0.40";
  auto keepMoved = keep;
  keepMoved.endpoints[0].ip = "10.42.9.9";
  const auto applied = stateOf({web(), db, keep});
  const auto next = stateOf({moved, cache, keepMoved});
  // keep changed too but is not named: the keys are trusted, not checked. An unchanged named
  // port and a key in neither state add nothing.
  const auto changed =
      changedPorts(applied, next, {moved.key(), db.key(), cache.key(), "default/none:/tcp"});
  EXPECT_EQ(changed.before, stateOf({web(), db}));
  EXPECT_EQ(changed.after, stateOf({moved, cache}));
  EXPECT_EQ(changedPorts(applied, applied, {web().key(), db.key()}).after, DesiredState{});
}

TEST(NftRules, HairpinCountsDecideLikeTheNextState) {
  auto db = web();
  db.name = "db";
  db.clusterIP = "10.43.0.20";
  auto moved = web();
  moved.endpoints[1].ip = "10.42.3.3";
  // 10.42.2.2 leaves web: db keeps it in the hairpin set; alone, web drops it.
  for (const auto& [applied, next] : {std::pair{stateOf({web(), db}), stateOf({moved, db})},
                                      std::pair{stateOf({web()}), stateOf({moved})}}) {
    const auto changed = changedPorts(applied, next);
    HairpinCounts counts(applied);
    counts.remove(changed.before);
    counts.add(changed.after);
    EXPECT_EQ(renderChanges(changed, counts, {}), renderChanges(applied, next, {}));
    EXPECT_EQ(counts.size(), HairpinCounts(next).size());
  }
  // An address twice in one port (two target ports) counts once for it.
  auto twoPorts = web();
  twoPorts.endpoints = {{"10.42.1.2", 8080}, {"10.42.1.2", 9090}};
  HairpinCounts counts(stateOf({twoPorts}));
  EXPECT_TRUE(counts.has("10.42.1.2"));
  counts.remove(stateOf({twoPorts}));
  EXPECT_FALSE(counts.has("10.42.1.2"));
  EXPECT_EQ(counts.size(), 0U);
  // IPv6 addresses are counted too (kept apart from the IPv4 ones).
  auto six = web();
  six.clusterIP = "fd00:43::10";
  six.endpoints = {{"fd00:42:1::2", 8080}, {"fd00:42:2::2", 8080}};
  counts.add(stateOf({six, twoPorts}));
  EXPECT_TRUE(counts.has("fd00:42:2::2"));
  EXPECT_FALSE(counts.has("fd00:42:3::2"));
  EXPECT_EQ(counts.size(), 3U);
}

// The IPv6 twin of web(): the IPv6 entry of a dual-stack port.
ServicePortState web6() {
  auto p = web();
  p.clusterIP = "fd00:43::10";
  p.endpoints = {{"fd00:42:1::2", 8080}, {"fd00:42:2::2", 8080}};
  return p;
}

TEST(NftRules, PlainIPv6PortIsElementsOfTheIPv6Maps) {
  auto p = web6();
  p.nodePort = 30080;
  p.externalIPs = {"fd00:99::5"};
  const auto r = renderServicePort(p, {});
  EXPECT_TRUE(r.chains.empty());
  EXPECT_FALSE(r.elements.contains("service-ips"));
  EXPECT_FALSE(r.elements.contains("service-nodeports"));
  EXPECT_EQ(r.elements.at("service-ips6"),
            (std::vector<std::string>{"fd00:43::10 . tcp . 80 : goto cluster6-2",
                                      "fd00:99::5 . tcp . 80 : goto external6-2"}));
  EXPECT_EQ(r.elements.at("service-endpoints6")[1],
            "fd00:43::10 . tcp . 80 . 1 : fd00:42:2::2 . 8080");
  EXPECT_EQ(r.elements.at("service-nodeports6"),
            (std::vector<std::string>{"tcp . 30080 : goto nodeport6-2"}));
  EXPECT_EQ(r.elements.at("nodeport-endpoints6")[0], "tcp . 30080 . 0 : fd00:42:1::2 . 8080");
  EXPECT_EQ(r.hairpin, (std::set<std::string>{"fd00:42:1::2", "fd00:42:2::2"}));
}

TEST(NftRules, TheTableHasAnIPv6HalfBesideTheIPv4One) {
  const auto text = renderFull(DesiredState{},
                               {.clusterCidr = "10.42.0.0/16", .clusterCidrIPv6 = "fd00:42::/48"});
  EXPECT_THAT(text, HasSubstr("add map inet kite-proxy service-ips6 { type ipv6_addr . inet_proto "
                              ". inet_service : verdict ; }\n"));
  EXPECT_THAT(text, HasSubstr("add map inet kite-proxy service-endpoints6 { typeof ip6 daddr . "
                              "meta l4proto . th dport . numgen random mod 1 : ip6 daddr . th "
                              "dport ; }\n"));
  EXPECT_THAT(text, HasSubstr("add set inet kite-proxy hairpin6 { type ipv6_addr . ipv6_addr ; }"));
  EXPECT_THAT(text, HasSubstr("add rule inet kite-proxy cluster6-2 ip6 saddr != fd00:42::/48 jump "
                              "mark-for-masquerade\n"
                              "add rule inet kite-proxy cluster6-2 meta l4proto { tcp, udp, sctp } "
                              "dnat ip6 addr . port to ip6 daddr . meta l4proto . th dport . "
                              "numgen random mod 2 map @service-endpoints6\n"));
  EXPECT_THAT(text, HasSubstr("add rule inet kite-proxy nodeport6-16 meta l4proto { tcp, udp, "
                              "sctp } dnat ip6 addr . port to meta l4proto . th dport . numgen "
                              "random mod 16 map @nodeport-endpoints6\n"));
  EXPECT_THAT(text, HasSubstr("add rule inet kite-proxy services ip6 daddr . meta l4proto . th "
                              "dport vmap @service-ips6\n"));
  // Each family's NodePorts only in its own map; none on ::1 (no route_localnet for IPv6).
  EXPECT_THAT(text, HasSubstr("add rule inet kite-proxy services fib daddr type local meta "
                              "nfproto ipv4 meta l4proto . th dport vmap @service-nodeports\n"));
  EXPECT_THAT(text, HasSubstr("add rule inet kite-proxy services fib daddr type local meta "
                              "nfproto ipv6 ip6 daddr != ::1 meta l4proto . th dport vmap "
                              "@service-nodeports6\n"));
  EXPECT_THAT(text, HasSubstr("add rule inet kite-proxy endpoints-check ip6 daddr . meta l4proto "
                              ". th dport vmap @no-endpoint-services6\n"));
  EXPECT_THAT(text, HasSubstr("add rule inet kite-proxy firewall-check ip6 daddr . meta l4proto . "
                              "th dport vmap @firewall-ips6\n"));
  EXPECT_THAT(text, HasSubstr("add rule inet kite-proxy nat-postrouting ct status dnat ip6 saddr "
                              ". ip6 daddr @hairpin6 jump mark-for-masquerade\n"));
  // Without an IPv6 cluster CIDR the IPv6 ClusterIP path marks nothing.
  EXPECT_THAT(renderFull(DesiredState{}, {.clusterCidr = "10.42.0.0/16"}),
              HasSubstr("add chain inet kite-proxy cluster6-2\nadd rule inet kite-proxy "
                        "cluster6-2 meta l4proto"));
}

TEST(NftRules, NodePortAddressesApplyPerFamily) {
  const auto both =
      renderFull(DesiredState{}, {.nodePortAddresses = {"10.99.0.0/24", "fd00:99::/64"}});
  EXPECT_THAT(both, HasSubstr("meta nfproto ipv4 ip daddr { 10.99.0.0/24 } meta l4proto"));
  EXPECT_THAT(both, HasSubstr("meta nfproto ipv6 ip6 daddr != ::1 ip6 daddr { fd00:99::/64 } meta "
                              "l4proto"));
  // No IPv6 CIDR given: IPv6 NodePorts answer on every local IPv6 address (as upstream).
  const auto v4only = renderFull(DesiredState{}, {.nodePortAddresses = {"10.99.0.0/24"}});
  EXPECT_THAT(v4only, HasSubstr("meta nfproto ipv6 ip6 daddr != ::1 meta l4proto . th dport vmap "
                                "@service-nodeports6\n"));
}

TEST(NftRules, IPv6AffinityLocalPolicyAndSourceRanges) {
  auto p = web6();
  p.affinityTimeoutSeconds = 30;
  p.nodePort = 30080;
  p.externalPolicyLocal = true;
  p.endpoints[0].local = true;
  p.loadBalancerIPs = {"fd00:99::1"};
  p.externalIPs = {"fd00:99::1"};
  p.loadBalancerSourceRanges = {"fd00:98::/64"};
  const auto r = renderServicePort(p, {.clusterCidrIPv6 = "fd00:42::/48"});
  for (const auto& [name, rules] : r.chains) {
    EXPECT_THAT(name, Not(HasSubstr(":"))) << "nft identifiers may not hold ':'";
  }
  for (const auto& [name, definition] : r.sets) {
    EXPECT_THAT(name, Not(HasSubstr(":")));
    EXPECT_EQ(definition, "{ type ipv6_addr ; flags dynamic,timeout ; timeout 30s ; }");
  }
  const auto svc = chainStarting(r, "service-");
  ASSERT_FALSE(svc.empty());
  const auto& svcRules = r.chains.at(svc);
  EXPECT_EQ(svcRules[0],
            "ip6 daddr fd00:43::10 meta l4proto tcp th dport 80 ip6 saddr != fd00:42::/48 jump "
            "mark-for-masquerade");
  EXPECT_THAT(svcRules[1], HasSubstr("ip6 saddr @affinity-"));
  const auto ep = chainStarting(r, "endpoint-");
  ASSERT_FALSE(ep.empty());
  EXPECT_THAT(ep, HasSubstr("__fd00.42.1..2/8080"));
  const auto& epRules = r.chains.at(ep);
  EXPECT_THAT(epRules[0], HasSubstr("{ ip6 saddr }"));
  EXPECT_EQ(epRules[1], "meta l4proto tcp dnat ip6 to [fd00:42:1::2]:8080");
  const auto ext = chainStarting(r, "external-");
  ASSERT_FALSE(ext.empty());
  EXPECT_EQ(r.chains.at(ext)[0], "ip6 saddr fd00:42::/48 goto " + svc);
  const auto fw = chainStarting(r, "firewall-");
  ASSERT_FALSE(fw.empty());
  EXPECT_EQ(r.chains.at(fw), (std::vector<std::string>{"ip6 saddr != { fd00:98::/64 } drop"}));
  EXPECT_EQ(r.elements.at("firewall-ips6"),
            (std::vector<std::string>{"fd00:99::1 . tcp . 80 : goto " + fw}));
  EXPECT_EQ(r.elements.at("service-nodeports6"),
            (std::vector<std::string>{"tcp . 30080 : goto " + ext}));
}

TEST(NftRules, IPv6PortWithoutEndpointsRejects) {
  auto p = web6();
  p.endpoints.clear();
  p.nodePort = 30080;
  const auto r = renderServicePort(p, {});
  EXPECT_EQ(r.elements.at("no-endpoint-services6"),
            (std::vector<std::string>{"fd00:43::10 . tcp . 80 : goto reject-chain"}));
  EXPECT_EQ(r.elements.at("no-endpoint-nodeports6"),
            (std::vector<std::string>{"tcp . 30080 : goto reject-chain"}));
  EXPECT_FALSE(r.elements.contains("no-endpoint-services"));
}

TEST(NftRules, DualStackPortsCoexistAndChangeIncrementally) {
  const auto text = renderFull(stateOf({web(), web6()}), {});
  EXPECT_THAT(text, HasSubstr("add element inet kite-proxy hairpin { 10.42.1.2 . 10.42.1.2, "
                              "10.42.2.2 . 10.42.2.2 }\n"));
  EXPECT_THAT(text, HasSubstr("add element inet kite-proxy hairpin6 { fd00:42:1::2 . "
                              "fd00:42:1::2, fd00:42:2::2 . fd00:42:2::2 }\n"));
  EXPECT_THAT(text, HasSubstr("add element inet kite-proxy service-ips { 10.43.0.10 . tcp . 80 : "
                              "goto cluster-2 }\n"));
  EXPECT_THAT(text, HasSubstr("add element inet kite-proxy service-ips6 { fd00:43::10 . tcp . 80 : "
                              "goto cluster6-2 }\n"));

  // An IPv6 endpoint replaced: element commands of the IPv6 maps only.
  auto moved = web6();
  moved.endpoints[1].ip = "fd00:42:3::3";
  const auto changes = renderChanges(stateOf({web(), web6()}), stateOf({web(), moved}), {});
  EXPECT_THAT(nonElementLines(changes), ::testing::IsEmpty()) << changes;
  EXPECT_EQ(changes,
            "delete element inet kite-proxy service-endpoints6 { fd00:43::10 . tcp . 80 . 1 }\n"
            "delete element inet kite-proxy hairpin6 { fd00:42:2::2 . fd00:42:2::2 }\n"
            "add element inet kite-proxy service-endpoints6 { fd00:43::10 . tcp . 80 . 1 : "
            "fd00:42:3::3 . 8080 }\n"
            "add element inet kite-proxy hairpin6 { fd00:42:3::3 . fd00:42:3::3 }\n");
}

TEST(NftRules, Cleanup) {
  EXPECT_EQ(renderCleanup(), "add table inet kite-proxy\ndelete table inet kite-proxy\n");
}

}  // namespace
}  // namespace kite::proxy::nft
