// NetworkPolicy: the state computed from policies, pods and namespaces (upstream semantics),
// and the nft text of `table inet kite-netpol`, whole and as diffs. No kernel.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <random>

#include "kite/api/json.h"
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
using testing::pod;
using testing::policy;

AddressRange single(const std::string& ip) {
  const auto r = parseCidr(ip + "/32");
  return r;
}

class NetworkPolicyState : public ::testing::Test {
 protected:
  NetworkPolicyState() {
    pods_ = {
        pod("prod", "web", "10.42.0.2", "{app: web}", "n1",
            "[{name: http, containerPort: 80}, {name: dns, containerPort: 53, protocol: UDP}]"),
        pod("prod", "db", "10.42.0.3", "{app: db}"),
        pod("dev", "web", "10.42.0.4", "{app: web}", "n1", "[{name: http, containerPort: 8080}]"),
        pod("dev", "client", "10.42.1.5", "{app: client}", "n2"),
        pod("prod", "remote", "10.42.1.6", "{app: web}", "n2",
            "[{name: http, containerPort: 8081}]")};
    auto host = pod("prod", "host", "192.168.1.1", "{app: web}");
    host.spec.hostNetwork = true;
    pods_.push_back(host);
    auto done = pod("prod", "done", "10.42.0.9", "{app: web}");
    done.status.phase = "Succeeded";
    pods_.push_back(done);
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

  std::vector<Pod> pods_;
  std::vector<Namespace> namespaces_;
};

TEST_F(NetworkPolicyState, EmptyPodSelectorSelectsThisNodesPodsOfTheNamespaceOnly) {
  const auto p = only(policy("prod", "deny", "{podSelector: {}}"));
  // Not dev's pods, not the other node's, not host-network or finished ones.
  EXPECT_THAT(p.ingressTargets, ElementsAre("10.42.0.2", "10.42.0.3"));
  EXPECT_THAT(p.egressTargets, IsEmpty());  // policyTypes default: Ingress only
  EXPECT_THAT(p.ingress, IsEmpty());        // default deny
}

TEST_F(NetworkPolicyState, PolicyTypesDefaultToEgressWhenThereAreEgressRules) {
  const auto p = only(policy("prod", "p", "{podSelector: {matchLabels: {app: db}}, egress: [{}]}"));
  EXPECT_THAT(p.ingressTargets, ElementsAre("10.42.0.3"));
  EXPECT_THAT(p.egressTargets, ElementsAre("10.42.0.3"));
  ASSERT_EQ(p.egress.size(), 1U);
  EXPECT_TRUE(p.egress[0].allPeers);
  EXPECT_TRUE(p.egress[0].allPorts);
  const auto e = only(policy("prod", "e", "{podSelector: {}, policyTypes: [Egress]}"));
  EXPECT_THAT(e.ingressTargets, IsEmpty());
  EXPECT_THAT(e.egressTargets, ElementsAre("10.42.0.2", "10.42.0.3"));
}

TEST_F(NetworkPolicyState, PolicySelectingNoLocalPodIsLeftOut) {
  EXPECT_THAT(compute({policy("dev", "p", "{podSelector: {matchLabels: {app: client}}}")}).policies,
              IsEmpty());
}

TEST_F(NetworkPolicyState, PeersBySelectors) {
  auto peersOf = [&](const std::string& from) {
    return only(policy("prod", "p", "{podSelector: {}, ingress: [{from: [" + from + "]}]}"))
        .ingress.at(0)
        .peers;
  };
  // podSelector alone: the policy's namespace.
  EXPECT_THAT(peersOf("{podSelector: {matchLabels: {app: web}}}"),
              ElementsAre(single("10.42.0.2"), single("10.42.1.6")));
  // namespaceSelector {}: every namespace.
  // Adjacent addresses merge into ranges.
  EXPECT_THAT(peersOf("{namespaceSelector: {}}"),
              ElementsAre(AddressRange{single("10.42.0.2").first, single("10.42.0.4").first},
                          AddressRange{single("10.42.1.5").first, single("10.42.1.6").first}));
  EXPECT_THAT(peersOf("{namespaceSelector: {matchLabels: {team: dev}}}"),
              ElementsAre(single("10.42.0.4"), single("10.42.1.5")));
  // Both: pods matching in namespaces matching.
  EXPECT_THAT(peersOf("{namespaceSelector: {matchLabels: {team: dev}}, podSelector: "
                      "{matchLabels: {app: web}}}"),
              ElementsAre(single("10.42.0.4")));
  // The automatic name label.
  EXPECT_THAT(peersOf("{namespaceSelector: {matchExpressions: [{key: kubernetes.io/metadata.name, "
                      "operator: In, values: [dev]}]}, podSelector: {matchLabels: {app: client}}}"),
              ElementsAre(single("10.42.1.5")));
  // No match: the rule allows nothing and is left out.
  EXPECT_THAT(only(policy("prod", "p",
                          "{podSelector: {}, ingress: [{from: [{podSelector: {matchLabels: "
                          "{app: none}}}]}]}"))
                  .ingress,
              IsEmpty());
}

// Selector matches are remembered across the policies of one computation: the same selector
// in policies of different namespaces still means each policy's own namespace, and every
// policy comes out as it does alone.
TEST_F(NetworkPolicyState, SharedSelectorsResolvePerPolicyNamespace) {
  const std::string web = "{matchLabels: {app: web}}";
  const std::vector<NetworkPolicy> policies = {
      policy("prod", "a",
             "{podSelector: " + web + ", ingress: [{from: [{podSelector: " + web + "}]}]}"),
      policy("dev", "a",
             "{podSelector: " + web + ", ingress: [{from: [{podSelector: " + web + "}]}]}"),
      policy("prod", "b",
             "{podSelector: " + web + ", ingress: [{from: [{namespaceSelector: {matchLabels: " +
                 "{team: dev}}, podSelector: {}}]}], egress: [{to: [{podSelector: " + web +
                 "}], ports: [{port: http}]}]}"),
      policy("dev", "b",
             "{podSelector: " + web + ", ingress: [{from: [{namespaceSelector: {matchLabels: " +
                 "{team: dev}}, podSelector: {}}]}], egress: [{to: [{podSelector: " + web +
                 "}], ports: [{port: http}]}]}"),
      policy("dev", "c",
             "{podSelector: {}, ingress: [{from: [{podSelector: " + web +
                 "}], ports: [{port: http}]}]}")};
  const auto all = compute(policies);
  EXPECT_THAT(all.errors, IsEmpty());
  ASSERT_EQ(all.policies.size(), policies.size());
  for (const auto& p : policies) {
    const auto alone = compute({p});
    ASSERT_EQ(alone.policies.size(), 1U);
    EXPECT_EQ(all.policies.at(p.metadata.namespace_ + "/" + p.metadata.name),
              alone.policies.begin()->second)
        << p.metadata.namespace_ << "/" << p.metadata.name;
  }
  EXPECT_THAT(all.policies.at("prod/a").ingressTargets, ElementsAre("10.42.0.2"));
  EXPECT_THAT(all.policies.at("dev/a").ingressTargets, ElementsAre("10.42.0.4"));
  EXPECT_THAT(all.policies.at("prod/a").ingress.at(0).peers,
              ElementsAre(single("10.42.0.2"), single("10.42.1.6")));
  EXPECT_THAT(all.policies.at("dev/a").ingress.at(0).peers, ElementsAre(single("10.42.0.4")));
  // The same namespaceSelector peer is the same pods from either namespace.
  EXPECT_EQ(all.policies.at("prod/b").ingress, all.policies.at("dev/b").ingress);
  // Egress named ports resolve on the peers of each policy's own namespace.
  EXPECT_THAT(all.policies.at("prod/b").egress.at(0).podPorts,
              ElementsAre(PodPort{"10.42.0.2", "tcp", 80}, PodPort{"10.42.1.6", "tcp", 8081}));
  EXPECT_THAT(all.policies.at("dev/b").egress.at(0).podPorts,
              ElementsAre(PodPort{"10.42.0.4", "tcp", 8080}));
  // Targets of dev/c: every local pod of dev; its named port resolves on each of them.
  EXPECT_THAT(all.policies.at("dev/c").ingressTargets, ElementsAre("10.42.0.4"));
}

TEST_F(NetworkPolicyState, IpBlockWithExcept) {
  const auto p = only(policy("prod", "p",
                             "{podSelector: {}, ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/8, "
                             "except: [10.42.0.0/16, 10.1.2.3/32]}}, {ipBlock: {cidr: "
                             "192.168.7.9/24}}]}]}"));
  ASSERT_EQ(p.ingress.size(), 1U);
  EXPECT_THAT(
      p.ingress[0].peers,
      ElementsAre(
          AddressRange{parseCidr("10.0.0.0/32").first, parseCidr("10.1.2.2/32").first},
          AddressRange{parseCidr("10.1.2.4/32").first, parseCidr("10.41.255.255/32").first},
          AddressRange{parseCidr("10.43.0.0/32").first, parseCidr("10.255.255.255/32").first},
          parseCidr("192.168.7.0/24")));
}

TEST_F(NetworkPolicyState, PortsNumericRangesProtocolsAndNamedPerPod) {
  const auto p = only(policy("prod", "p",
                             "{podSelector: {}, ingress: [{ports: [{port: 443}, {port: 5000, "
                             "endPort: 5010, protocol: UDP}, {protocol: SCTP}, {port: http}, "
                             "{port: dns, protocol: UDP}]}]}"));
  ASSERT_EQ(p.ingress.size(), 1U);
  const auto& r = p.ingress[0];
  EXPECT_TRUE(r.allPeers);
  EXPECT_FALSE(r.allPorts);
  EXPECT_THAT(r.ports, ElementsAre(PortRange{"sctp", 0, 65535}, PortRange{"tcp", 443, 443},
                                   PortRange{"udp", 5000, 5010}));
  // Named ports on the selected pods: only web has them.
  EXPECT_THAT(r.podPorts,
              ElementsAre(PodPort{"10.42.0.2", "tcp", 80}, PodPort{"10.42.0.2", "udp", 53}));
}

TEST_F(NetworkPolicyState, EgressNamedPortsResolveOnTheDestinationPods) {
  const auto p = only(policy("prod", "p",
                             "{podSelector: {matchLabels: {app: db}}, policyTypes: [Egress], "
                             "egress: [{to: [{namespaceSelector: {}, podSelector: {matchLabels: "
                             "{app: web}}}], ports: [{port: http}]}]}"));
  ASSERT_EQ(p.egress.size(), 1U);
  EXPECT_THAT(p.egress[0].podPorts,
              ElementsAre(PodPort{"10.42.0.2", "tcp", 80}, PodPort{"10.42.0.4", "tcp", 8080},
                          PodPort{"10.42.1.6", "tcp", 8081}));
}

TEST_F(NetworkPolicyState, InvalidPartsAllowNothingAndAreReported) {
  const auto state = compute({policy("prod", "bad",
                                     "{podSelector: {}, ingress: [{ports: [{port: 80, protocol: "
                                     "ICMP}, {port: 90, endPort: 80}]}, {from: [{ipBlock: {cidr: "
                                     "10.0.0.0/33}}]}]}")});
  ASSERT_EQ(state.policies.size(), 1U);
  const auto& p = state.policies.begin()->second;
  EXPECT_THAT(p.ingressTargets, ElementsAre("10.42.0.2", "10.42.0.3"));  // still isolated
  EXPECT_THAT(p.ingress, IsEmpty());
  ASSERT_EQ(state.errors.size(), 3U);
  EXPECT_THAT(state.errors[0], HasSubstr("prod/bad: spec.ingress[0].ports[0]: protocol"));
  EXPECT_THAT(state.errors[1], HasSubstr("spec.ingress[0].ports[1]: endPort"));
  EXPECT_THAT(state.errors[2], HasSubstr("spec.ingress[1].from[0].ipBlock.cidr"));
}

TEST(NetworkPolicyCidr, ParsesAndRejects) {
  EXPECT_EQ(formatAddress(parseCidr("10.1.2.3/16").first), "10.1.0.0");
  EXPECT_EQ(formatAddress(parseCidr("10.1.2.3/16").last), "10.1.255.255");
  EXPECT_EQ(formatAddress(parseCidr("0.0.0.0/0").last), "255.255.255.255");
  EXPECT_THROW(parseCidr("10.1.2.3/x"), std::invalid_argument);
  EXPECT_THROW(parseCidr("fd00::/8"), std::invalid_argument);
}

// The rule text.
TEST_F(NetworkPolicyState, FullRenderHasTheTableMapsChainsAndSets) {
  const auto state = compute({policy("prod", "web",
                                     "{podSelector: {matchLabels: {app: web}}, ingress: [{from: "
                                     "[{ipBlock: {cidr: 10.0.0.0/8, except: [10.42.0.0/16]}}], "
                                     "ports: [{port: 80}, {port: http}]}]}")});
  const std::string text = nft::renderFull(state);
  const std::string chain = nft::podChain(nft::render(state), "ingress", "10.42.0.2");
  EXPECT_THAT(chain, ::testing::MatchesRegex("in-[0-9a-f]{16}"));
  EXPECT_THAT(text, HasSubstr("add table inet kite-netpol"));
  EXPECT_THAT(text, HasSubstr("hook forward priority filter + 1"));
  EXPECT_THAT(text, HasSubstr("ip daddr vmap @ingress-pods"));
  EXPECT_THAT(text, HasSubstr("ip saddr vmap @egress-pods"));
  EXPECT_THAT(text,
              HasSubstr("add element inet kite-netpol ingress-pods { 10.42.0.2 : jump " + chain));
  EXPECT_THAT(text, Not(HasSubstr("add element inet kite-netpol egress-pods")));
  // Port 80 numerically and as the pod's named port: one element per peer range.
  EXPECT_THAT(text, HasSubstr("add element inet kite-netpol " + chain +
                              "-ports { 10.0.0.0-10.41.255.255 . tcp . 80, "
                              "10.43.0.0-10.255.255.255 . tcp . 80 }\n"));
  EXPECT_THAT(text, HasSubstr("add rule inet kite-netpol " + chain +
                              " ip saddr . meta l4proto . th dport @" + chain + "-ports accept"));
  EXPECT_THAT(text, HasSubstr("add rule inet kite-netpol " + chain + " ip saddr @" + chain +
                              "-all accept"));
  EXPECT_THAT(text, Not(HasSubstr("add element inet kite-netpol " + chain + "-all")));
  EXPECT_THAT(text, HasSubstr("ct state established,related accept"));
  EXPECT_THAT(text, HasSubstr("reject with icmpx admin-prohibited"));
}

// Two policies on one pod whose rules overlap: the kernel refuses overlapping elements in a
// set of concatenated ranges, so the union is cut into pieces that do not overlap.
TEST_F(NetworkPolicyState, OverlappingRulesBecomeDisjointElements) {
  const auto state =
      compute({policy("prod", "wide",
                      "{podSelector: {matchLabels: {app: web}}, ingress: [{from: [{ipBlock: "
                      "{cidr: 10.42.0.0/16}}], ports: [{port: 5000, endPort: 5009}]}]}"),
               policy("prod", "narrow",
                      "{podSelector: {}, ingress: [{from: [{ipBlock: {cidr: 10.43.0.0/16}}], "
                      "ports: [{port: 5005}, {port: 5432}]}, {from: [{ipBlock: {cidr: "
                      "10.44.0.0/16}}, {ipBlock: {cidr: 10.45.0.0/16}}]}]}")});
  const auto ruleset = nft::render(state);
  const std::string a = nft::podChain(ruleset, "ingress", "10.42.0.2");
  const std::string b = nft::podChain(ruleset, "ingress", "10.42.0.3");
  EXPECT_NE(a, b);
  // a (both policies): 5000-5004 and 5006-5009 from 10.42/16; 5005 from both /16s, joined.
  EXPECT_THAT(
      ruleset.sets.at(a + "-ports").elements,
      ElementsAre("10.42.0.0-10.42.255.255 . tcp . 5000-5004",
                  "10.42.0.0-10.42.255.255 . tcp . 5006-5009",
                  "10.42.0.0-10.43.255.255 . tcp . 5005", "10.43.0.0-10.43.255.255 . tcp . 5432"));
  // Rules without ports go to the -all set, adjacent blocks joined.
  EXPECT_THAT(ruleset.sets.at(a + "-all").elements, ElementsAre("10.44.0.0-10.45.255.255"));
  // b (narrow only).
  EXPECT_THAT(
      ruleset.sets.at(b + "-ports").elements,
      ElementsAre("10.43.0.0-10.43.255.255 . tcp . 5005", "10.43.0.0-10.43.255.255 . tcp . 5432"));
  EXPECT_EQ(ruleset.sets.at("ingress-pods").elements,
            (std::vector<std::string>{"10.42.0.2 : jump " + a, "10.42.0.3 : jump " + b}));
  EXPECT_THAT(ruleset.sets.at("egress-pods").elements, IsEmpty());
}

TEST_F(NetworkPolicyState, EgressNamedPortsResolveOnThePeerInsideThePeers) {
  const auto state = compute(
      {policy("prod", "out",
              "{podSelector: {matchLabels: {app: db}}, policyTypes: [Egress], egress: [{to: "
              "[{namespaceSelector: {matchLabels: {team: dev}}}], ports: [{port: http}]}]}")});
  const auto ruleset = nft::render(state);
  const std::string chain = nft::podChain(ruleset, "egress", "10.42.0.3");
  EXPECT_THAT(chain, ::testing::MatchesRegex("eg-[0-9a-f]{16}"));
  EXPECT_EQ(nft::podChain(ruleset, "ingress", "10.42.0.3"), "");
  // dev's pods: only c (10.42.0.4) has a port named http; prod/remote's 8081 is not a peer.
  EXPECT_THAT(ruleset.sets.at(chain + "-ports").elements, ElementsAre("10.42.0.4 . tcp . 8080"));
  EXPECT_THAT(
      ruleset.chains.at(chain),
      ElementsAre("ip daddr @" + chain + "-all accept",
                  "ip daddr . meta l4proto . th dport @" + chain + "-ports accept",
                  "meta l4proto tcp reject with tcp reset", "reject with icmpx admin-prohibited"));
}

// Pods isolated by the same policies share a chain and its sets, unless the named ports
// those rules use resolve to other numbers on them.
TEST_F(NetworkPolicyState, PodsWithTheSamePoliciesShareAChain) {
  const auto deny = policy("prod", "deny", "{podSelector: {}}");
  auto ruleset = nft::render(compute({deny}));
  const std::string a = nft::podChain(ruleset, "ingress", "10.42.0.2");
  EXPECT_EQ(nft::podChain(ruleset, "ingress", "10.42.0.3"), a);
  EXPECT_EQ(ruleset.chains.size(), 1U);
  EXPECT_EQ(ruleset.sets.size(), 6U);  // four maps (two per family), one class's two sets

  const auto named = policy("prod", "named",
                            "{podSelector: {}, ingress: [{ports: [{port: http}, {port: pg, "
                            "protocol: UDP}]}]}");
  ruleset = nft::render(compute({deny, named}));
  const std::string web = nft::podChain(ruleset, "ingress", "10.42.0.2");
  const std::string db = nft::podChain(ruleset, "ingress", "10.42.0.3");
  EXPECT_NE(web, db);
  EXPECT_NE(web, a);
  EXPECT_THAT(ruleset.sets.at(web + "-ports").elements,
              ElementsAre("0.0.0.0-255.255.255.255 . tcp . 80"));
  EXPECT_THAT(ruleset.sets.at(db + "-ports").elements, IsEmpty());
}

// The kernel finds a set by name with a walk of the table's list, so the number of named
// sets must not grow with the policies: 300 policies over the same two pods are one class,
// one chain and its two sets, beside the four maps (IPv4-only pods: no IPv6 sets).
TEST_F(NetworkPolicyState, NamedSetsDoNotGrowWithPolicies) {
  std::vector<NetworkPolicy> policies;
  for (int i = 0; i < 300; ++i) {
    policies.push_back(policy("prod", "p" + std::to_string(i),
                              "{podSelector: {}, ingress: [{from: [{ipBlock: {cidr: 10." +
                                  std::to_string(i % 250) + "." + std::to_string(i / 250) +
                                  ".0/24}}], ports: [{port: " + std::to_string(1000 + i) +
                                  "}]}]}"));
  }
  const auto ruleset = nft::render(compute(policies));
  EXPECT_EQ(ruleset.sets.size(), 6U);
  ASSERT_EQ(ruleset.chains.size(), 1U);
  const std::string chain = ruleset.chains.begin()->first;
  EXPECT_EQ(nft::podChain(ruleset, "ingress", "10.42.0.2"), chain);
  EXPECT_EQ(nft::podChain(ruleset, "ingress", "10.42.0.3"), chain);
  EXPECT_EQ(ruleset.sets.at(chain + "-ports").elements.size(), 300U);
}

TEST_F(NetworkPolicyState, ChangesWriteOnlyWhatDiffers) {
  const auto allowDb = policy("prod", "db",
                              "{podSelector: {matchLabels: {app: db}}, ingress: [{from: "
                              "[{podSelector: {matchLabels: {app: web}}}]}]}");
  const auto denyDev = policy("dev", "deny", "{podSelector: {}}");
  const auto first = compute({allowDb, denyDev});
  EXPECT_EQ(nft::renderChanges(first, first), "");

  // A pod gets the label: one element added to one set, no chain touched.
  pods_.push_back(pod("prod", "web2", "10.42.0.7", "{app: web}", "n2"));
  const auto second = compute({allowDb, denyDev});
  const std::string db = nft::podChain(nft::render(first), "ingress", "10.42.0.3");
  EXPECT_EQ(nft::podChain(nft::render(second), "ingress", "10.42.0.3"), db);
  const auto diff = nft::renderChanges(first, second);
  EXPECT_EQ(diff, "add element inet kite-netpol " + db + "-all { 10.42.0.7 }\n");

  // A policy goes: the pod it isolated leaves the map, its chain and sets go; the other
  // isolated pod is not written.
  const auto third = compute({allowDb});
  const auto removal = nft::renderChanges(second, third);
  const std::string dev = nft::podChain(nft::render(second), "ingress", "10.42.0.4");
  ASSERT_NE(dev, db);
  EXPECT_THAT(
      removal,
      HasSubstr("delete element inet kite-netpol ingress-pods { 10.42.0.4 : jump " + dev + " }"));
  EXPECT_THAT(removal, HasSubstr("flush chain inet kite-netpol " + dev + "\n"));
  EXPECT_THAT(removal, HasSubstr("delete chain inet kite-netpol " + dev + "\n"));
  EXPECT_THAT(removal, HasSubstr("delete set inet kite-netpol " + dev + "-all\n"));
  EXPECT_THAT(removal, HasSubstr("delete set inet kite-netpol " + dev + "-ports\n"));
  EXPECT_THAT(removal, Not(HasSubstr(db)));
  // Deletions come after what drops the references: the map element and the flush.
  EXPECT_LT(removal.find("delete element inet kite-netpol ingress-pods"),
            removal.find("delete chain"));
  EXPECT_LT(removal.find("flush chain inet kite-netpol " + dev), removal.find("delete chain"));
  EXPECT_LT(removal.find("flush chain inet kite-netpol " + dev), removal.find("delete set"));

  // The pod isolated again: its chain is declared before the map element jumps to it.
  const auto back = nft::renderChanges(third, second);
  EXPECT_LT(back.find("add chain inet kite-netpol " + dev + "\n"),
            back.find("add element inet kite-netpol ingress-pods"));
}

}  // namespace
}  // namespace kite::proxy::netpol
