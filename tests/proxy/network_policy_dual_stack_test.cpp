// NetworkPolicy, dual-stack: the state of pods with IPv6 addresses (status.podIPs of both
// families, IPv6-only pods), IPv6 ipBlocks, named ports per address, the IPv6 range helpers,
// and the IPv6 twins of the maps, sets and rules in `table inet kite-netpol`. No kernel.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "kite/proxy/network_policy_rules.h"
#include "kite/proxy/network_policy_state.h"
#include "network_policy_test_objects.h"

namespace kite::proxy::netpol {
namespace {

using api::core::v1::Namespace;
using api::core::v1::Pod;
using api::networking::v1::NetworkPolicy;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using testing::ns;
using testing::podWithIPs;
using testing::policy;

AddressRange single(const std::string& ip) { return parseCidr(ip); }
Address6Range single6(const std::string& ip) { return parseCidr6(ip); }
Address6Range range6(const std::string& first, const std::string& last) {
  return {parseCidr6(first).first, parseCidr6(last).first};
}

class NetworkPolicyDualStack : public ::testing::Test {
 protected:
  NetworkPolicyDualStack() {
    pods_ = {
        podWithIPs("prod", "web", {"10.42.0.2", "fd00:42::2"}, "{app: web}", "n1",
                   "[{name: http, containerPort: 80}, {name: dns, containerPort: 53, protocol: "
                   "UDP}]"),
        // IPv6 first, written long: the state keeps the canonical text.
        podWithIPs("prod", "db", {"fd00:0042:0:0::3", "10.42.0.3"}, "{app: db}", "n1",
                   "[{name: pg, containerPort: 5432}]"),
        podWithIPs("prod", "six", {"fd00:42::4"}, "{app: web, only: six}", "n1",
                   "[{name: http, containerPort: 8080}]"),
        podWithIPs("dev", "client", {"10.42.1.5", "fd00:42:1::5"}, "{app: client}", "n2"),
        podWithIPs("dev", "remote", {"fd00:42:1::6"}, "{app: web}", "n2",
                   "[{name: http, containerPort: 8081}]")};
    namespaces_ = {ns("prod", "{team: prod}"), ns("dev", "{team: dev}")};
  }

  State compute(const std::vector<NetworkPolicy>& policies) {
    return computeState(policies, pods_, namespaces_, "n1");
  }
  PolicyState only(const NetworkPolicy& p) {
    auto state = compute({p});
    EXPECT_THAT(state.errors, IsEmpty());
    EXPECT_EQ(state.policies.size(), 1U);
    return state.policies.begin()->second;
  }
  RuleState ingressRule(const std::string& rule) {
    const auto p = only(policy("prod", "p", "{podSelector: {}, ingress: [" + rule + "]}"));
    EXPECT_EQ(p.ingress.size(), 1U);
    return p.ingress.empty() ? RuleState{} : p.ingress[0];
  }

  std::vector<Pod> pods_;
  std::vector<Namespace> namespaces_;
};

TEST_F(NetworkPolicyDualStack, EveryAddressOfASelectedPodIsATarget) {
  const auto p = only(policy("prod", "deny", "{podSelector: {}, policyTypes: [Ingress, Egress]}"));
  // Both families of the dual-stack pods, the IPv6-only pod; canonical text.
  EXPECT_THAT(p.ingressTargets,
              ElementsAre("10.42.0.2", "10.42.0.3", "fd00:42::2", "fd00:42::3", "fd00:42::4"));
  EXPECT_EQ(p.egressTargets, p.ingressTargets);
}

TEST_F(NetworkPolicyDualStack, PodIPsThatAreNotAddressesAreIgnored) {
  pods_ = {podWithIPs("prod", "bad", {"10.42.0.7/24", "fd00:42::7/64", "bogus"}, "{app: web}"),
           podWithIPs("prod", "ok", {"fd00:42::8", "10.42.0.8/24"}, "{app: web}")};
  const auto p = only(policy("prod", "deny", "{podSelector: {}}"));
  EXPECT_THAT(p.ingressTargets, ElementsAre("fd00:42::8"));
}

TEST_F(NetworkPolicyDualStack, SelectorPeersMatchBothFamilies) {
  auto rule = ingressRule("{from: [{podSelector: {matchLabels: {app: web}}}]}");
  EXPECT_THAT(rule.peers, ElementsAre(single("10.42.0.2")));
  EXPECT_THAT(rule.peers6, ElementsAre(single6("fd00:42::2"), single6("fd00:42::4")));
  // Every pod of every namespace: adjacent IPv6 addresses merge like IPv4 ones.
  rule = ingressRule("{from: [{namespaceSelector: {}}]}");
  EXPECT_THAT(rule.peers,
              ElementsAre(AddressRange{single("10.42.0.2").first, single("10.42.0.3").first},
                          single("10.42.1.5")));
  EXPECT_THAT(rule.peers6, ElementsAre(range6("fd00:42::2", "fd00:42::4"),
                                       range6("fd00:42:1::5", "fd00:42:1::6")));
  // A namespace of IPv6-only web pods: no IPv4 peer, still a rule.
  rule = ingressRule(
      "{from: [{namespaceSelector: {matchLabels: {team: dev}}, podSelector: {matchLabels: {app: "
      "web}}}]}");
  EXPECT_THAT(rule.peers, IsEmpty());
  EXPECT_THAT(rule.peers6, ElementsAre(single6("fd00:42:1::6")));
}

TEST_F(NetworkPolicyDualStack, IpBlocksKeepToTheirFamily) {
  // An IPv6 block with IPv6 excepts; an IPv4 except cuts nothing out of it.
  auto rule = ingressRule(
      "{from: [{ipBlock: {cidr: \"fd00:99::/64\", except: [\"fd00:99::3/128\", "
      "10.99.0.0/24]}}]}");
  EXPECT_THAT(rule.peers, IsEmpty());
  EXPECT_THAT(rule.peers6, ElementsAre(range6("fd00:99::", "fd00:99::2"),
                                       range6("fd00:99::4", "fd00:99::ffff:ffff:ffff:ffff")));
  // An IPv4 block: nothing for IPv6.
  rule = ingressRule("{from: [{ipBlock: {cidr: 10.99.0.0/24, except: [\"fd00:99::/64\"]}}]}");
  EXPECT_THAT(rule.peers, ElementsAre(parseCidr("10.99.0.0/24")));
  EXPECT_THAT(rule.peers6, IsEmpty());
  // Both in one rule: each in its family.
  rule =
      ingressRule("{from: [{ipBlock: {cidr: 10.99.0.0/24}}, {ipBlock: {cidr: \"fd00:99::/64\"}}]}");
  EXPECT_THAT(rule.peers, ElementsAre(parseCidr("10.99.0.0/24")));
  EXPECT_THAT(rule.peers6, ElementsAre(parseCidr6("fd00:99::/64")));
}

TEST_F(NetworkPolicyDualStack, InvalidIpv6BlocksAllowNothingAndAreReported) {
  const auto state = compute({policy("prod", "bad",
                                     "{podSelector: {}, ingress: [{from: [{ipBlock: {cidr: "
                                     "\"fd00::/129\"}}]}, {from: [{ipBlock: {cidr: "
                                     "\"fd00::/64\", except: [\"fd00::x/120\"]}}]}]}")});
  ASSERT_EQ(state.policies.size(), 1U);
  EXPECT_THAT(state.policies.begin()->second.ingress, IsEmpty());
  EXPECT_THAT(state.policies.begin()->second.ingressTargets, Not(IsEmpty()));  // fail closed
  ASSERT_EQ(state.errors.size(), 2U);
  EXPECT_THAT(state.errors[0], HasSubstr("spec.ingress[0].from[0].ipBlock.cidr"));
  EXPECT_THAT(state.errors[1], HasSubstr("spec.ingress[1].from[0].ipBlock.except[0]"));
}

TEST_F(NetworkPolicyDualStack, NamedPortsResolveOnEachAddress) {
  // Ingress: on the selected pods, each of their addresses.
  auto rule = ingressRule("{ports: [{port: http}]}");
  EXPECT_THAT(rule.podPorts,
              ElementsAre(PodPort{"10.42.0.2", "tcp", 80}, PodPort{"fd00:42::2", "tcp", 80},
                          PodPort{"fd00:42::4", "tcp", 8080}));
  // Egress to an IPv6 block: only the peers' addresses inside it (not web's IPv4 one, not
  // remote's fd00:42:1::6).
  const auto p = only(policy("prod", "out",
                             "{podSelector: {matchLabels: {app: db}}, policyTypes: [Egress], "
                             "egress: [{to: [{ipBlock: {cidr: \"fd00:42::/64\"}}], ports: [{port: "
                             "http}]}]}"));
  ASSERT_EQ(p.egress.size(), 1U);
  EXPECT_THAT(p.egress[0].podPorts,
              ElementsAre(PodPort{"fd00:42::2", "tcp", 80}, PodPort{"fd00:42::4", "tcp", 8080}));
}

TEST(NetworkPolicyCidr6, ParsesFormatsMergesAndCuts) {
  EXPECT_EQ(formatAddress6(parseCidr6("fd00:99::1/64").first), "fd00:99::");
  EXPECT_EQ(formatAddress6(parseCidr6("fd00:99::1/64").last), "fd00:99::ffff:ffff:ffff:ffff");
  EXPECT_EQ(formatAddress6(parseCidr6("::/0").last), "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
  EXPECT_EQ(formatAddress6(parseCidr6("FD00:0:0::0001").first), "fd00::1");
  EXPECT_EQ(parseCidr6("fd00::1").first, parseCidr6("fd00::1").last);  // /128
  EXPECT_THROW(parseCidr6("10.0.0.0/8"), std::invalid_argument);
  EXPECT_THROW(parseCidr6("fd00::/129"), std::invalid_argument);
  EXPECT_THROW(parseCidr6("fd00::/x"), std::invalid_argument);
  EXPECT_THROW(parseCidr("fd00::/8"), std::invalid_argument);
  // Adjacent ranges join, up to the last address.
  EXPECT_THAT(mergeRanges(std::vector<Address6Range>{parseCidr6("::/1"), parseCidr6("8000::/1"),
                                                     single6("fd00::1")}),
              ElementsAre(parseCidr6("::/0")));
  EXPECT_THAT(subtractRange({parseCidr6("fd00::/126")}, single6("fd00::1")),
              ElementsAre(single6("fd00::"), range6("fd00::2", "fd00::3")));
}

// The rule text: one chain per class for both families, the IPv6 half in "6" twins.
TEST_F(NetworkPolicyDualStack, ADualStackPodJumpsFromBothMapsToOneChain) {
  const auto state = compute(
      {policy("prod", "web",
              "{podSelector: {matchLabels: {app: web}}, ingress: [{from: [{namespaceSelector: "
              "{}, podSelector: {matchLabels: {app: client}}}], ports: [{port: 80}]}, {from: "
              "[{ipBlock: {cidr: 10.99.0.0/24}}, {ipBlock: {cidr: \"fd00:99::/64\"}}]}]}")});
  const auto ruleset = nft::render(state);
  const std::string chain = nft::podChain(ruleset, "ingress", "10.42.0.2");
  EXPECT_THAT(chain, ::testing::MatchesRegex("in-[0-9a-f]{16}"));
  EXPECT_EQ(nft::podChain(ruleset, "ingress", "fd00:42::2"), chain);
  EXPECT_THAT(ruleset.sets.at("ingress-pods").elements, ElementsAre("10.42.0.2 : jump " + chain));
  // The IPv6-only web pod is isolated by the same policy with the same rules: the same class.
  EXPECT_THAT(ruleset.sets.at("ingress-pods6").elements,
              ElementsAre("fd00:42::2 : jump " + chain, "fd00:42::4 : jump " + chain));
  EXPECT_EQ(ruleset.sets.at("ingress-pods6").type, "ipv6_addr : verdict");
  EXPECT_THAT(
      ruleset.chains.at(chain),
      ElementsAre("ip saddr @" + chain + "-all accept",
                  "ip saddr . meta l4proto . th dport @" + chain + "-ports accept",
                  "ip6 saddr @" + chain + "-all6 accept",
                  "ip6 saddr . meta l4proto . th dport @" + chain + "-ports6 accept",
                  "meta l4proto tcp reject with tcp reset", "reject with icmpx admin-prohibited"));
  // Each family's peers in its own sets: an IPv4 block never in the IPv6 ones.
  EXPECT_THAT(ruleset.sets.at(chain + "-all").elements, ElementsAre("10.99.0.0-10.99.0.255"));
  EXPECT_THAT(ruleset.sets.at(chain + "-all6").elements,
              ElementsAre("fd00:99::-fd00:99::ffff:ffff:ffff:ffff"));
  EXPECT_THAT(ruleset.sets.at(chain + "-ports").elements, ElementsAre("10.42.1.5 . tcp . 80"));
  EXPECT_THAT(ruleset.sets.at(chain + "-ports6").elements, ElementsAre("fd00:42:1::5 . tcp . 80"));
  EXPECT_EQ(ruleset.sets.at(chain + "-all6").type, "ipv6_addr");
  EXPECT_EQ(ruleset.sets.at(chain + "-ports6").type, "ipv6_addr . inet_proto . inet_service");
}

TEST_F(NetworkPolicyDualStack, AnIpv6OnlyClassHasNoIpv4Half) {
  const auto ruleset =
      nft::render(compute({policy("prod", "six", "{podSelector: {matchLabels: {only: six}}}")}));
  const std::string chain = nft::podChain(ruleset, "ingress", "fd00:42::4");
  ASSERT_NE(chain, "");
  EXPECT_THAT(ruleset.sets.at("ingress-pods").elements, IsEmpty());
  EXPECT_THAT(
      ruleset.chains.at(chain),
      ElementsAre("ip6 saddr @" + chain + "-all6 accept",
                  "ip6 saddr . meta l4proto . th dport @" + chain + "-ports6 accept",
                  "meta l4proto tcp reject with tcp reset", "reject with icmpx admin-prohibited"));
  EXPECT_FALSE(ruleset.sets.contains(chain + "-all"));
  EXPECT_FALSE(ruleset.sets.contains(chain + "-ports"));
  EXPECT_THAT(ruleset.sets.at(chain + "-all6").elements, IsEmpty());  // default deny
}

TEST_F(NetworkPolicyDualStack, EgressNamedPortsResolveOnThePeersAddressOfEachFamily) {
  const auto ruleset = nft::render(compute(
      {policy("prod", "out",
              "{podSelector: {matchLabels: {app: db}}, policyTypes: [Egress], egress: [{to: "
              "[{namespaceSelector: {}, podSelector: {matchLabels: {app: web}}}], ports: [{port: "
              "http}]}]}")}));
  const std::string chain = nft::podChain(ruleset, "egress", "fd00:42::3");
  ASSERT_NE(chain, "");
  EXPECT_EQ(nft::podChain(ruleset, "egress", "10.42.0.3"), chain);
  EXPECT_THAT(ruleset.sets.at(chain + "-ports").elements, ElementsAre("10.42.0.2 . tcp . 80"));
  EXPECT_THAT(
      ruleset.sets.at(chain + "-ports6").elements,
      ElementsAre("fd00:42:1::6 . tcp . 8081", "fd00:42::2 . tcp . 80", "fd00:42::4 . tcp . 8080"));
  EXPECT_THAT(
      ruleset.chains.at(chain),
      ::testing::Contains("ip6 daddr . meta l4proto . th dport @" + chain + "-ports6 accept"));
}

TEST_F(NetworkPolicyDualStack, FullRenderHasTheIpv6MapsAndNeighbourDiscovery) {
  const std::string text = nft::renderFull(compute({policy("prod", "deny", "{podSelector: {}}")}));
  EXPECT_THAT(text,
              HasSubstr("add map inet kite-netpol ingress-pods6 { type ipv6_addr : verdict; }"));
  EXPECT_THAT(text,
              HasSubstr("add map inet kite-netpol egress-pods6 { type ipv6_addr : verdict; }"));
  EXPECT_THAT(text, HasSubstr("add rule inet kite-netpol forward-ingress ip6 daddr vmap "
                              "@ingress-pods6\n"));
  EXPECT_THAT(text, HasSubstr("add rule inet kite-netpol forward-egress ip6 saddr vmap "
                              "@egress-pods6\n"));
  // Neighbour discovery between pods on a bridge passes before any isolation.
  const auto nd = text.find(
      "forward-ingress icmpv6 type { nd-neighbor-solicit, "
      "nd-neighbor-advert } accept");
  ASSERT_NE(nd, std::string::npos);
  EXPECT_LT(nd, text.find("forward-ingress ip6 daddr vmap"));
  EXPECT_THAT(text, HasSubstr("add element inet kite-netpol ingress-pods6 { fd00:42::2 : jump "));
}

TEST_F(NetworkPolicyDualStack, ChangesOfIpv6AddressesWriteOnlyWhatDiffers) {
  const auto allowDb = policy("prod", "db",
                              "{podSelector: {matchLabels: {app: db}}, ingress: [{from: "
                              "[{namespaceSelector: {}, podSelector: {matchLabels: {app: "
                              "client}}}]}]}");
  const auto first = compute({allowDb});
  const std::string db = nft::podChain(nft::render(first), "ingress", "fd00:42::3");
  ASSERT_NE(db, "");
  // A peer's IPv6 address changes: one element out, one in, in the IPv6 set only.
  pods_[3] = podWithIPs("dev", "client", {"10.42.1.5", "fd00:42:1::9"}, "{app: client}", "n2");
  const auto second = compute({allowDb});
  EXPECT_EQ(nft::renderChanges(first, second),
            "delete element inet kite-netpol " + db + "-all6 { fd00:42:1::5 }\n" +
                "add element inet kite-netpol " + db + "-all6 { fd00:42:1::9 }\n");
  // The isolated pod loses its IPv6 address: out of the IPv6 map, its class keeps one chain
  // (the same key), rewritten without the IPv6 half whose sets go after the flush.
  pods_[1] = podWithIPs("prod", "db", {"10.42.0.3"}, "{app: db}", "n1",
                        "[{name: pg, containerPort: 5432}]");
  const auto third = compute({allowDb});
  EXPECT_EQ(nft::podChain(nft::render(third), "ingress", "10.42.0.3"), db);
  const auto diff = nft::renderChanges(second, third);
  EXPECT_THAT(diff, HasSubstr("delete element inet kite-netpol ingress-pods6 { fd00:42::3 : "
                              "jump " +
                              db + " }"));
  EXPECT_THAT(diff, HasSubstr("flush chain inet kite-netpol " + db + "\n"));
  EXPECT_THAT(diff, HasSubstr("delete set inet kite-netpol " + db + "-all6\n"));
  EXPECT_THAT(diff, HasSubstr("delete set inet kite-netpol " + db + "-ports6\n"));
  EXPECT_LT(diff.find("flush chain"), diff.find("delete set"));
  EXPECT_THAT(diff, Not(HasSubstr("ip6 saddr")));
  // And back: the IPv6 sets are declared before the rewritten chain uses them.
  const auto back = nft::renderChanges(third, second);
  EXPECT_LT(back.find("add set inet kite-netpol " + db + "-all6"),
            back.find("add rule inet kite-netpol " + db + " ip6 saddr @" + db + "-all6"));
}

}  // namespace
}  // namespace kite::proxy::netpol
