// NetworkPolicy: the state computed from policies, pods and namespaces (upstream semantics),
// and the nft text of `table inet kite-netpol`, whole and as diffs. No kernel.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "kite/api/json.h"
#include "kite/proxy/network_policy_rules.h"
#include "kite/proxy/network_policy_state.h"

namespace kite::proxy::netpol {
namespace {

using api::core::v1::Namespace;
using api::core::v1::Pod;
using api::networking::v1::NetworkPolicy;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

Pod pod(const std::string& ns, const std::string& name, const std::string& ip,
        const std::string& labels, const std::string& node = "n1",
        const std::string& ports = "[]") {
  return api::decodeYaml<Pod>("metadata: {namespace: " + ns + ", name: " + name +
                              ", labels: " + labels + "}\nspec: {nodeName: " + node +
                              ", containers: [{name: c, ports: " + ports +
                              "}]}\nstatus: {phase: Running, podIP: " + ip + "}\n");
}

Namespace ns(const std::string& name, const std::string& labels) {
  return api::decodeYaml<Namespace>("metadata: {name: " + name + ", labels: " + labels + "}\n");
}

NetworkPolicy policy(const std::string& ns, const std::string& name, const std::string& spec) {
  return api::decodeYaml<NetworkPolicy>("metadata: {namespace: " + ns + ", name: " + name +
                                        "}\nspec: " + spec + "\n");
}

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
TEST_F(NetworkPolicyState, FullRenderHasTheTableSetsAndChains) {
  const auto state = compute({policy("prod", "web",
                                     "{podSelector: {matchLabels: {app: web}}, ingress: [{from: "
                                     "[{ipBlock: {cidr: 10.0.0.0/8, except: [10.42.0.0/16]}}], "
                                     "ports: [{port: 80}, {port: http}]}]}")});
  const std::string text = nft::renderFull(state);
  const std::string id = nft::policyId("prod/web");
  EXPECT_THAT(text, HasSubstr("add table inet kite-netpol"));
  EXPECT_THAT(text, HasSubstr("hook forward priority filter + 1"));
  EXPECT_THAT(text, HasSubstr("add element inet kite-netpol ingress-isolated { 10.42.0.2 }"));
  EXPECT_THAT(text, HasSubstr("ip daddr @" + id + "-ingress-pods jump " + id + "-ingress"));
  EXPECT_THAT(text, HasSubstr("{ 10.0.0.0-10.41.255.255, 10.43.0.0-10.255.255.255 }"));
  EXPECT_THAT(text, HasSubstr("ip saddr @" + id + "-ingress-0-peers meta l4proto . th dport @" +
                              id + "-ingress-0-ports accept"));
  EXPECT_THAT(text, HasSubstr("{ 10.42.0.2 . tcp . 80 }"));
  EXPECT_THAT(text, HasSubstr("ct state established,related accept"));
  EXPECT_THAT(text, HasSubstr("reject with icmpx admin-prohibited"));
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
  const auto diff = nft::renderChanges(first, second);
  EXPECT_EQ(diff, "add element inet kite-netpol " + nft::policyId("prod/db") +
                      "-ingress-0-peers { 10.42.0.7 }\n");

  // A policy goes: its dispatch rule, chain and sets go; the other policy is not written.
  const auto third = compute({allowDb});
  const auto removal = nft::renderChanges(second, third);
  const std::string devId = nft::policyId("dev/deny");
  EXPECT_THAT(removal, HasSubstr("flush chain inet kite-netpol ingress-policies"));
  EXPECT_THAT(removal, HasSubstr("delete chain inet kite-netpol " + devId + "-ingress"));
  EXPECT_THAT(removal, HasSubstr("delete set inet kite-netpol " + devId + "-ingress-pods"));
  EXPECT_THAT(removal, HasSubstr("delete element inet kite-netpol ingress-isolated { 10.42.0.4 }"));
  EXPECT_THAT(removal, Not(HasSubstr(nft::policyId("prod/db") + "-ingress-0-peers")));
  // Deletions come after the flushes that drop the references.
  EXPECT_LT(removal.find("flush chain inet kite-netpol ingress-policies"),
            removal.find("delete chain"));
}

}  // namespace
}  // namespace kite::proxy::netpol
