// NetworkPolicy: IncrementalState (network_policy_state.h) against computeState after every
// step of a random walk of changes, and which policies a pod change makes it compute again.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <random>

#include "kite/proxy/network_policy_state.h"
#include "network_policy_test_objects.h"

namespace kite::proxy::netpol {
namespace {

using api::core::v1::Namespace;
using api::core::v1::Pod;
using api::networking::v1::NetworkPolicy;
using testing::ns;
using testing::podWithIPs;
using testing::policy;

// IncrementalState against computeState over a random walk of changes (pods relabelled,
// readdressed in either family, renumbered, added, gone, finished, moved, on the host
// network; namespaces relabelled; policies changed, added, deleted): the same state and
// errors after every step. Pods are IPv4-only, IPv6-only and dual-stack.
class IncrementalStateTest : public ::testing::Test {
 protected:
  IncrementalStateTest() {
    for (const auto& [name, labels] : std::vector<std::pair<std::string, std::string>>{
             {"a", "{team: red}"}, {"b", "{team: blue}"}, {"c", "{}"}}) {
      namespaces_[name] = std::make_shared<const Namespace>(ns(name, labels));
    }
    for (int i = 0; i < 40; ++i) addPod();
    for (std::size_t i = 0; i < specs_.size(); ++i) setPolicy(i, i);
  }

  std::string nextIp() {
    ++addresses_;
    return "10.42." + std::to_string(addresses_ / 200) + "." + std::to_string(addresses_ % 200 + 1);
  }
  // Not in canonical form ("fd00:42::0:7"): the state keeps the canonical text.
  std::string nextIp6() {
    ++addresses6_;
    return "fd00:42::" + std::to_string(addresses6_ / 200) + ":" +
           std::to_string(addresses6_ % 200 + 1);
  }
  std::vector<std::string> ipsOf(int i) {
    switch (i % 5) {
      case 1:
        return {nextIp6()};
      case 2:
        return {nextIp(), nextIp6()};
      case 3:
        return {nextIp6(), nextIp()};
      default:
        return {nextIp()};
    }
  }
  void addPod() {
    const int i = podCount_++;
    static const std::vector<std::string> kNs = {"a", "b", "c", "d"};  // d: no Namespace
    const std::string name = "p" + std::to_string(i);
    pods_[kNs[i % 4] + "/" + name] = std::make_shared<const Pod>(
        podWithIPs(kNs[i % 4], name, ipsOf(i), "{app: " + apps_[(i / 4) % apps_.size()] + "}",
                   i % 3 == 0 ? "n2" : "n1",
                   "[{name: http, containerPort: " + std::to_string(8000 + i % 5) + "}]"));
  }
  // A new IPv6 address in status.podIPs (an IPv4-only pod becomes dual-stack).
  void readdress6(Pod& p) {
    auto& ips = p.status.podIPs;
    const auto v6 =
        std::find_if(ips.begin(), ips.end(), [](const auto& ip) { return isIPv6(ip.ip); });
    if (v6 != ips.end()) {
      const bool primary = p.status.podIP == v6->ip;
      v6->ip = nextIp6();
      if (primary) p.status.podIP = v6->ip;
    } else {
      if (ips.empty()) ips.push_back({.ip = p.status.podIP});
      ips.push_back({.ip = nextIp6()});
    }
  }
  void setPolicy(std::size_t slot, std::size_t spec) {
    static const std::vector<std::string> kNs = {"a", "b", "c", "d"};
    const std::string n = kNs[slot % 4];
    policies_[n + "/np" + std::to_string(slot)] = std::make_shared<const NetworkPolicy>(
        policy(n, "np" + std::to_string(slot), specs_[spec % specs_.size()]));
  }
  template <class T>
  static std::vector<std::shared_ptr<const T>> values(
      const std::map<std::string, std::shared_ptr<const T>>& m) {
    std::vector<std::shared_ptr<const T>> out;
    for (const auto& [k, v] : m) out.push_back(v);
    return out;
  }
  template <class T>
  static std::vector<T> copies(const std::map<std::string, std::shared_ptr<const T>>& m) {
    std::vector<T> out;
    for (const auto& [k, v] : m) out.push_back(*v);
    return out;
  }
  const State& update() {
    return incremental_.update(values(policies_), values(pods_), values(namespaces_));
  }
  void expectSameAsComputeState(const std::string& step) {
    const auto& got = update();
    const auto want = computeState(copies(policies_), copies(pods_), copies(namespaces_), "n1");
    ASSERT_EQ(got.policies, want.policies) << step;
    ASSERT_EQ(got.errors, want.errors) << step;
  }
  // A changed copy of a random pod, under the same key.
  template <class Fn>
  void changePod(std::mt19937& random, Fn&& change) {
    auto it = std::next(pods_.begin(), static_cast<long>(random() % pods_.size()));
    auto copy = std::make_shared<Pod>(*it->second);
    change(*copy);
    it->second = std::move(copy);
  }

  std::vector<std::string> apps_ = {"web", "db", "client", "other"};
  std::vector<std::string> specs_ = {
      "{podSelector: {matchLabels: {app: web}}, ingress: [{from: [{podSelector: {matchLabels: "
      "{app: client}}}], ports: [{port: http}]}]}",
      "{podSelector: {}, policyTypes: [Ingress]}",
      "{podSelector: {matchLabels: {app: db}}, ingress: [{from: [{namespaceSelector: "
      "{matchLabels: {team: red}}}]}]}",
      "{podSelector: {matchLabels: {app: db}}, ingress: [{from: [{namespaceSelector: "
      "{matchLabels: {kubernetes.io/metadata.name: d}}, podSelector: {matchLabels: {app: "
      "web}}}]}]}",
      "{podSelector: {matchLabels: {app: client}}, egress: [{to: [{podSelector: {matchLabels: "
      "{app: web}}}], ports: [{port: http}]}]}",
      "{podSelector: {matchLabels: {app: other}}, egress: [{ports: [{port: http}]}]}",
      "{podSelector: {matchLabels: {app: web}}, egress: [{to: [{ipBlock: {cidr: 10.42.0.0/24, "
      "except: [10.42.0.64/26]}}], ports: [{port: http}, {port: 53, protocol: UDP}]}]}",
      "{podSelector: {matchExpressions: [{key: app, operator: In, values: [web, db]}]}, "
      "ingress: [{from: [{namespaceSelector: {}, podSelector: {matchExpressions: [{key: app, "
      "operator: NotIn, values: [other]}]}}], ports: [{port: 8000, endPort: 8002}]}]}",
      "{podSelector: {matchExpressions: [{key: app, operator: Bogus}]}, ingress: [{}]}",
      "{podSelector: {}, ingress: [{from: [{podSelector: {matchExpressions: [{key: app, "
      "operator: Bogus}]}}]}]}",
      "{podSelector: {matchLabels: {app: web}}, ingress: [{from: [{namespaceSelector: "
      "{matchLabels: {team: blue}}}]}], egress: [{to: [{namespaceSelector: {}}]}]}",
      "{podSelector: {matchLabels: {app: db}}, ingress: [{from: [{ipBlock: {cidr: "
      "\"fd00:42::/112\", except: [\"fd00:42::0:40/122\"]}}]}]}",
      "{podSelector: {matchLabels: {app: client}}, egress: [{to: [{ipBlock: {cidr: "
      "\"fd00:42::/64\"}}], ports: [{port: http}]}]}",
  };
  int podCount_ = 0;
  int addresses_ = 0;
  int addresses6_ = 0;
  std::map<std::string, std::shared_ptr<const Namespace>> namespaces_;
  std::map<std::string, std::shared_ptr<const Pod>> pods_;
  std::map<std::string, std::shared_ptr<const NetworkPolicy>> policies_;
  IncrementalState incremental_{"n1"};
};

TEST_F(IncrementalStateTest, EveryStepEqualsComputeState) {
  std::mt19937 random(7);
  expectSameAsComputeState("start");
  for (int step = 0; step < 400; ++step) {
    const auto kind = random() % 13;
    switch (kind) {
      case 0:
        changePod(random,
                  [&](Pod& p) { p.metadata.labels["app"] = apps_[random() % apps_.size()]; });
        break;
      case 1:
        changePod(random, [&](Pod& p) { p.status.podIP = nextIp(); });
        break;
      case 2:
        if (pods_.size() > 5) {
          pods_.erase(std::next(pods_.begin(), static_cast<long>(random() % pods_.size())));
        }
        break;
      case 3:
        addPod();
        break;
      case 4:
        changePod(random, [](Pod& p) {
          p.status.phase = p.status.phase == "Running" ? "Succeeded" : "Running";
        });
        break;
      case 5:
        changePod(random, [](Pod& p) { p.spec.nodeName = p.spec.nodeName == "n1" ? "n2" : "n1"; });
        break;
      case 6: {
        auto& n = namespaces_[std::vector<std::string>{"a", "b", "c"}[random() % 3]];
        auto copy = std::make_shared<Namespace>(*n);
        copy->metadata.labels["team"] = random() % 2 != 0U ? "red" : "blue";
        n = std::move(copy);
        break;
      }
      case 7:
        setPolicy(random() % (specs_.size() + 3), random());
        break;
      case 8:
        if (policies_.size() > 3) {
          policies_.erase(
              std::next(policies_.begin(), static_cast<long>(random() % policies_.size())));
        }
        break;
      case 9:
        changePod(random, [](Pod& p) { p.spec.hostNetwork = !p.spec.hostNetwork; });
        break;
      case 10:
        changePod(random, [](Pod& p) { ++p.spec.containers.at(0).ports.at(0).containerPort; });
        break;
      case 11:
        changePod(random, [&](Pod& p) { readdress6(p); });
        break;
      default:
        break;  // nothing changed
    }
    expectSameAsComputeState("step " + std::to_string(step) + " kind " + std::to_string(kind));
    if (kind == 12) {
      EXPECT_EQ(incremental_.recomputed(), 0U) << step;
    }
  }
}

TEST_F(IncrementalStateTest, APodChangeRecomputesOnlyThePoliciesItConcerns) {
  // Only the app=db target policies and the catch-alls (podSelector {} of its namespace,
  // namespaceSelector {} peers, egress named ports to any pod or an ipBlock, the invalid ones)
  // can care about a pod of namespace c turning from other to db... so set a plain scene.
  policies_.clear();
  for (int i = 0; i < 50; ++i) {
    const std::string n = "np" + std::to_string(i);
    policies_["a/" + n] = std::make_shared<const NetworkPolicy>(
        policy("a", n,
               "{podSelector: {matchLabels: {app: web}}, ingress: [{from: [{podSelector: "
               "{matchLabels: {app: client}}}]}]}"));
  }
  policies_["b/db"] = std::make_shared<const NetworkPolicy>(
      policy("b", "db", "{podSelector: {matchLabels: {app: db}}}"));
  expectSameAsComputeState("start");
  EXPECT_EQ(incremental_.recomputed(), 51U);
  // A pod of b becomes a client: none of a's policies look at b.
  auto it = std::find_if(pods_.begin(), pods_.end(),
                         [](const auto& p) { return p.first.starts_with("b/"); });
  ASSERT_NE(it, pods_.end());
  auto copy = std::make_shared<Pod>(*it->second);
  copy->metadata.labels["app"] = "client";
  it->second = copy;
  expectSameAsComputeState("b pod relabelled");
  EXPECT_LE(incremental_.recomputed(), 1U);
  // A pod of a becomes a client: every policy of a names that group.
  it = std::find_if(pods_.begin(), pods_.end(), [](const auto& p) {
    return p.first.starts_with("a/") && p.second->metadata.labels.at("app") != "client";
  });
  ASSERT_NE(it, pods_.end());
  copy = std::make_shared<Pod>(*it->second);
  copy->metadata.labels["app"] = "client";
  it->second = copy;
  expectSameAsComputeState("a pod relabelled");
  EXPECT_EQ(incremental_.recomputed(), 50U);
  // Nothing changed: nothing computed.
  expectSameAsComputeState("again");
  EXPECT_EQ(incremental_.recomputed(), 0U);
}

TEST_F(IncrementalStateTest, AnIpv6AddressChangeRecomputesThePoliciesItConcerns) {
  policies_.clear();
  for (int i = 0; i < 20; ++i) {
    const std::string n = "np" + std::to_string(i);
    policies_["a/" + n] = std::make_shared<const NetworkPolicy>(
        policy("a", n,
               "{podSelector: {matchLabels: {app: web}}, ingress: [{from: [{podSelector: "
               "{matchLabels: {app: client}}}]}]}"));
  }
  expectSameAsComputeState("start");
  // A client of a gets another IPv6 address: only the IPv6 peers of a's policies change.
  auto it = std::find_if(pods_.begin(), pods_.end(), [](const auto& p) {
    return p.first.starts_with("a/") && p.second->metadata.labels.at("app") == "client";
  });
  ASSERT_NE(it, pods_.end());
  auto copy = std::make_shared<Pod>(*it->second);
  readdress6(*copy);
  const std::string address = formatAddress6(parseCidr6(copy->status.podIPs.back().ip).first);
  it->second = copy;
  const auto& state = update();
  EXPECT_EQ(incremental_.recomputed(), 20U);
  ASSERT_FALSE(state.policies.empty());
  const auto& peers6 = state.policies.begin()->second.ingress.at(0).peers6;
  EXPECT_TRUE(std::find(peers6.begin(), peers6.end(), parseCidr6(address)) != peers6.end())
      << address;
  expectSameAsComputeState("a client readdressed");
  // The same for a pod none of them looks at (b's): nothing computed.
  it = std::find_if(pods_.begin(), pods_.end(),
                    [](const auto& p) { return p.first.starts_with("b/"); });
  ASSERT_NE(it, pods_.end());
  copy = std::make_shared<Pod>(*it->second);
  readdress6(*copy);
  it->second = copy;
  expectSameAsComputeState("a pod of b readdressed");
  EXPECT_EQ(incremental_.recomputed(), 0U);
}

}  // namespace
}  // namespace kite::proxy::netpol
