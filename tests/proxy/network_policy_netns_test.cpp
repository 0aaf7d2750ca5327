// NetworkPolicy truth table with real traffic: four "pods" (network namespaces) on a bridge in
// a "node" namespace (br_netfilter sends the bridged traffic through the inet forward hook),
// and an "outside" host routed through the node. Each case swaps the policies (incremental
// syncs of `table inet kite-netpol`, applied inside the node namespace only) and checks TCP
// and UDP exchanges: allowed ones must carry bytes back and forth (checked by content),
// denied ones must fail within a short timeout. Root only; the host's ruleset is never
// touched. The namespaces are set up once for the suite.

#include <unistd.h>

#include <array>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "kite/api/json.h"
#include "kite/proxy/network_policy_dataplane.h"
#include "kite/proxy/network_policy_rules.h"
#include "kite/proxy/network_policy_state.h"
#include "netns.h"
#include "netpol_echo.h"

namespace kite::proxy::netpol {
namespace {

using api::core::v1::Namespace;
using api::core::v1::Pod;
using api::networking::v1::NetworkPolicy;
using Clock = std::chrono::steady_clock;
using testing::EchoServer;
using testing::exchange;
using testing::inNamespace;
using testing::sh;

constexpr std::array kTcpPorts = {80, 81, 5000, 5001, 5002, 5432, 8080};
constexpr std::array kUdpPorts = {53, 5353};

// The cluster the policies see; the namespaces below play its pods.
struct PodSpec {
  std::string name;  // also the echo server's answer
  std::string ns;
  std::string ip;
  std::string labels;
  std::string ports;  // container ports (YAML list)
};
const std::vector<PodSpec> kPods = {
    {"a", "prod", "10.42.0.2", "{app: web}",
     "[{name: http, containerPort: 80}, {name: dns, containerPort: 53, protocol: UDP}]"},
    {"b", "prod", "10.42.0.3", "{app: db}", "[{name: pg, containerPort: 5432}]"},
    {"c", "dev", "10.42.0.4", "{app: web}", "[{name: http, containerPort: 8080}]"},
    {"d", "dev", "10.42.0.5", "{app: client}", "[]"},
};
constexpr const char* kNode = "node1";

struct Probe {
  std::string from;  // a pod, or x2 / x3: the outside host from 10.99.0.2 / 10.99.0.3
  std::string to;    // a pod, or x2 / x3
  std::string proto;
  int port;
  bool allowed;
};

struct Case {
  std::string name;
  // "namespace/name" -> spec (YAML flow style).
  std::vector<std::pair<std::string, std::string>> policies;
  std::vector<Probe> probes;
  std::string devLabels = "{team: dev}";
};

const std::vector<Case> kCases = {
    {"no policy: everything flows",
     {},
     {{"d", "a", "tcp", 80, true},
      {"a", "c", "tcp", 8080, true},
      {"x2", "a", "tcp", 80, true},
      {"a", "x2", "udp", 53, true}}},
    {"default deny ingress in prod",
     {{"prod/deny", "{podSelector: {}}"}},
     {{"d", "a", "tcp", 80, false},
      {"b", "a", "tcp", 80, false},
      {"x2", "b", "udp", 53, false},
      {"c", "d", "tcp", 80, true},
      {"a", "d", "tcp", 80, true}}},
    {"default deny egress in prod",
     {{"prod/deny", "{podSelector: {}, policyTypes: [Egress]}"}},
     {{"a", "d", "tcp", 80, false},
      {"a", "x2", "udp", 53, false},
      {"b", "a", "tcp", 80, false},
      {"d", "a", "tcp", 80, true}}},
    {"deny both directions",
     {{"prod/deny", "{podSelector: {}, policyTypes: [Ingress, Egress]}"}},
     {{"d", "a", "tcp", 80, false}, {"a", "d", "tcp", 80, false}, {"c", "d", "tcp", 80, true}}},
    {"allow all ingress",
     {{"prod/all", "{podSelector: {}, ingress: [{}]}"}},
     {{"d", "a", "tcp", 80, true}, {"x2", "b", "udp", 53, true}}},
    {"allow all egress beside a deny",
     {{"prod/deny", "{podSelector: {}, policyTypes: [Egress]}"},
      {"prod/all", "{podSelector: {}, policyTypes: [Egress], egress: [{}]}"}},
     {{"a", "x2", "tcp", 80, true}, {"b", "d", "udp", 53, true}}},
    {"podSelector picks the isolated pods",
     {{"prod/db", "{podSelector: {matchLabels: {app: db}}}"}},
     {{"d", "b", "tcp", 5432, false}, {"d", "a", "tcp", 80, true}}},
    {"from podSelector: own namespace only",
     {{"prod/db",
       "{podSelector: {matchLabels: {app: db}}, ingress: [{from: [{podSelector: "
       "{matchLabels: {app: web}}}]}]}"}},
     {{"a", "b", "tcp", 5432, true},
      {"c", "b", "tcp", 5432, false},
      {"d", "b", "tcp", 5432, false}}},
    {"from namespaceSelector",
     {{"prod/web",
       "{podSelector: {matchLabels: {app: web}}, ingress: [{from: "
       "[{namespaceSelector: {matchLabels: {team: dev}}}]}]}"}},
     {{"d", "a", "tcp", 80, true}, {"c", "a", "tcp", 80, true}, {"b", "a", "tcp", 80, false}}},
    {"from namespaceSelector {}: every pod, no outside host",
     {{"prod/web",
       "{podSelector: {matchLabels: {app: web}}, ingress: [{from: "
       "[{namespaceSelector: {}}]}]}"}},
     {{"d", "a", "tcp", 80, true}, {"b", "a", "udp", 53, true}, {"x2", "a", "tcp", 80, false}}},
    {"namespaceSelector and podSelector together",
     {{"prod/web",
       "{podSelector: {matchLabels: {app: web}}, ingress: [{from: "
       "[{namespaceSelector: {matchLabels: {team: dev}}, podSelector: {matchLabels: "
       "{app: client}}}]}]}"}},
     {{"d", "a", "tcp", 80, true}, {"c", "a", "tcp", 80, false}, {"b", "a", "tcp", 80, false}}},
    {"two peers are a union",
     {{"prod/web",
       "{podSelector: {matchLabels: {app: web}}, ingress: [{from: "
       "[{namespaceSelector: {matchLabels: {team: dev}}, podSelector: {matchLabels: "
       "{app: web}}}, {podSelector: {matchLabels: {app: db}}}]}]}"}},
     {{"c", "a", "tcp", 80, true}, {"b", "a", "tcp", 80, true}, {"d", "a", "tcp", 80, false}}},
    {"numeric TCP port",
     {{"prod/web", "{podSelector: {matchLabels: {app: web}}, ingress: [{ports: [{port: 80}]}]}"}},
     {{"d", "a", "tcp", 80, true}, {"d", "a", "tcp", 81, false}, {"d", "a", "udp", 53, false}}},
    {"UDP port",
     {{"prod/web",
       "{podSelector: {matchLabels: {app: web}}, ingress: [{ports: [{port: 53, "
       "protocol: UDP}]}]}"}},
     {{"d", "a", "udp", 53, true}, {"d", "a", "udp", 5353, false}, {"d", "a", "tcp", 80, false}}},
    {"endPort range",
     {{"prod/web",
       "{podSelector: {matchLabels: {app: web}}, ingress: [{ports: [{port: 5000, "
       "endPort: 5001}]}]}"}},
     {{"d", "a", "tcp", 5000, true},
      {"d", "a", "tcp", 5001, true},
      {"d", "a", "tcp", 5002, false}}},
    {"protocol without port",
     {{"prod/web",
       "{podSelector: {matchLabels: {app: web}}, ingress: [{ports: [{protocol: "
       "UDP}]}]}"}},
     {{"d", "a", "udp", 53, true}, {"d", "a", "udp", 5353, true}, {"d", "a", "tcp", 80, false}}},
    {"named port: a different number on each pod",
     {{"prod/web", "{podSelector: {matchLabels: {app: web}}, ingress: [{ports: [{port: http}]}]}"},
      {"dev/web", "{podSelector: {matchLabels: {app: web}}, ingress: [{ports: [{port: http}]}]}"}},
     {{"d", "a", "tcp", 80, true},
      {"d", "a", "tcp", 8080, false},
      {"d", "c", "tcp", 8080, true},
      {"d", "c", "tcp", 80, false}}},
    {"named UDP port and peers together",
     {{"prod/web",
       "{podSelector: {matchLabels: {app: web}}, ingress: [{from: [{podSelector: "
       "{matchLabels: {app: db}}}], ports: [{port: dns, protocol: UDP}]}]}"}},
     {{"b", "a", "udp", 53, true}, {"b", "a", "udp", 5353, false}, {"d", "a", "udp", 53, false}}},
    {"egress named port resolves on the destination",
     {{"prod/web",
       "{podSelector: {matchLabels: {app: web}}, policyTypes: [Egress], egress: "
       "[{to: [{namespaceSelector: {}, podSelector: {matchLabels: {app: web}}}], "
       "ports: [{port: http}]}]}"}},
     {{"a", "c", "tcp", 8080, true}, {"a", "c", "tcp", 80, false}, {"a", "d", "tcp", 80, false}}},
    {"ingress ipBlock with except",
     {{"prod/web",
       "{podSelector: {matchLabels: {app: web}}, ingress: [{from: [{ipBlock: "
       "{cidr: 10.99.0.0/24, except: [10.99.0.3/32]}}]}]}"}},
     {{"x2", "a", "tcp", 80, true}, {"x3", "a", "tcp", 80, false}, {"d", "a", "tcp", 80, false}}},
    {"egress ipBlock with except and a port",
     {{"prod/web",
       "{podSelector: {matchLabels: {app: web}}, policyTypes: [Egress], egress: "
       "[{to: [{ipBlock: {cidr: 10.99.0.0/16, except: [10.99.0.3/32]}}], ports: "
       "[{port: 53, protocol: UDP}]}]}"}},
     {{"a", "x2", "udp", 53, true},
      {"a", "x3", "udp", 53, false},
      {"a", "x2", "tcp", 80, false},
      {"a", "d", "udp", 53, false}}},
    {"egress to a namespace",
     {{"prod/web",
       "{podSelector: {matchLabels: {app: web}}, policyTypes: [Egress], egress: "
       "[{to: [{namespaceSelector: {matchLabels: {team: dev}}}]}]}"}},
     {{"a", "c", "tcp", 80, true}, {"a", "d", "udp", 53, true}, {"a", "b", "tcp", 5432, false}}},
    {"two policies on one pod are a union",
     {{"prod/p1",
       "{podSelector: {matchLabels: {app: web}}, ingress: [{from: "
       "[{namespaceSelector: {}, podSelector: {matchLabels: {app: client}}}]}]}"},
      {"prod/p2",
       "{podSelector: {}, ingress: [{from: [{podSelector: {matchLabels: {app: "
       "db}}}]}]}"}},
     {{"d", "a", "tcp", 80, true},
      {"b", "a", "tcp", 80, true},
      {"c", "a", "tcp", 80, false},
      {"d", "b", "tcp", 5432, false}}},
    {"overlapping rules of two policies on one pod",
     {{"prod/range",
       "{podSelector: {matchLabels: {app: web}}, ingress: [{from: [{namespaceSelector: {}}], "
       "ports: [{port: 5000, endPort: 5002}]}]}"},
      {"prod/db",
       "{podSelector: {}, ingress: [{from: [{podSelector: {matchLabels: {app: db}}}], "
       "ports: [{port: 5001}, {port: 80}]}, {from: [{ipBlock: {cidr: 10.99.0.2/32}}]}]}"}},
     {{"d", "a", "tcp", 5000, true},
      {"d", "a", "tcp", 5002, true},
      {"b", "a", "tcp", 5001, true},
      {"b", "a", "tcp", 80, true},
      {"d", "a", "tcp", 80, false},
      {"x2", "a", "udp", 5353, true},
      {"x3", "a", "tcp", 5000, false},
      {"a", "b", "tcp", 5001, false},
      {"x2", "b", "tcp", 5432, true}}},
    {"one of the overlapping rules changes",
     {{"prod/range",
       "{podSelector: {matchLabels: {app: web}}, ingress: [{from: [{namespaceSelector: {}}], "
       "ports: [{port: 5000, endPort: 5001}]}]}"},
      {"prod/db",
       "{podSelector: {}, ingress: [{from: [{podSelector: {matchLabels: {app: db}}}], "
       "ports: [{port: 5001}, {port: 5002}]}]}"}},
     {{"d", "a", "tcp", 5001, true},
      {"d", "a", "tcp", 5002, false},
      {"b", "a", "tcp", 5002, true},
      {"b", "a", "tcp", 80, false},
      {"x2", "a", "udp", 5353, false}}},
    {"one policy, named ports with other numbers on each pod",
     {{"prod/named", "{podSelector: {}, ingress: [{ports: [{port: http}, {port: pg}]}]}"}},
     {{"d", "a", "tcp", 80, true},
      {"d", "a", "tcp", 5432, false},
      {"d", "b", "tcp", 5432, true},
      {"d", "b", "tcp", 80, false}}},
    {"egress allowed but ingress of the destination denies",
     {{"prod/web",
       "{podSelector: {matchLabels: {app: web}}, policyTypes: [Egress], egress: "
       "[{to: [{podSelector: {matchLabels: {app: db}}}]}]}"},
      {"prod/db",
       "{podSelector: {matchLabels: {app: db}}, ingress: [{from: "
       "[{namespaceSelector: {}, podSelector: {matchLabels: {app: client}}}]}]}"}},
     {{"a", "b", "tcp", 5432, false}, {"d", "b", "tcp", 5432, true}, {"a", "d", "tcp", 80, false}}},
    {"egress and ingress both allow",
     {{"prod/web",
       "{podSelector: {matchLabels: {app: web}}, policyTypes: [Egress], egress: "
       "[{to: [{podSelector: {matchLabels: {app: db}}}]}]}"},
      {"prod/db",
       "{podSelector: {matchLabels: {app: db}}, ingress: [{from: [{podSelector: "
       "{matchLabels: {app: web}}}], ports: [{port: pg}]}]}"}},
     {{"a", "b", "tcp", 5432, true}, {"a", "b", "tcp", 80, false}}},
    {"policyTypes Ingress ignores egress rules",
     {{"prod/web",
       "{podSelector: {}, policyTypes: [Ingress], ingress: [{}], egress: [{to: "
       "[{ipBlock: {cidr: 192.0.2.1/32}}]}]}"}},
     {{"a", "d", "tcp", 80, true}, {"d", "a", "tcp", 80, true}}},
    {"default policyTypes with egress rules isolate both ways",
     {{"prod/web",
       "{podSelector: {matchLabels: {app: web}}, egress: [{to: [{podSelector: "
       "{matchLabels: {app: db}}}]}]}"}},
     {{"a", "b", "tcp", 5432, true}, {"a", "d", "tcp", 80, false}, {"d", "a", "tcp", 80, false}}},
    {"namespace labels change",
     {{"prod/web",
       "{podSelector: {matchLabels: {app: web}}, ingress: [{from: "
       "[{namespaceSelector: {matchLabels: {team: prod}}}]}]}"}},
     {{"d", "a", "tcp", 80, true}, {"b", "a", "tcp", 80, true}, {"x2", "a", "tcp", 80, false}},
     "{team: prod}"},
    {"policy removed: everything flows again",
     {},
     {{"d", "a", "tcp", 80, true}, {"a", "x2", "udp", 53, true}, {"x3", "b", "tcp", 5432, true}}},
};

class NetworkPolicyTraffic : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (geteuid() != 0) return;
    prefix_ = "knp-" + std::to_string(getpid()) + "-";
    try {
      buildNetwork();
    } catch (...) {
      TearDownTestSuite();
      throw;
    }
  }

  static void TearDownTestSuite() {
    servers_.clear();
    for (const auto& ns : namespaces_) std::system(("ip netns del " + ns + " 2>/dev/null").c_str());
    namespaces_.clear();
  }

  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root for network namespaces";
  }

  static std::string nsOf(const std::string& name) { return prefix_ + name; }

  static void addNamespace(const std::string& name) {
    sh("ip netns add " + nsOf(name));
    namespaces_.push_back(nsOf(name));
    sh("ip -n " + nsOf(name) + " link set lo up");
  }

  static void buildNetwork() {
    addNamespace("node");
    const std::string node = "ip -n " + nsOf("node") + " ";
    sh("ip netns exec " + nsOf("node") + " sysctl -qw net.ipv4.ip_forward=1");
    // Bridged pod-to-pod traffic through the inet hooks, as on a node with br_netfilter.
    sh("ip netns exec " + nsOf("node") + " sysctl -qw net.bridge.bridge-nf-call-iptables=1");
    sh(node + "link add br0 type bridge");
    sh(node + "addr add 10.42.0.1/24 dev br0");
    sh(node + "link set br0 up");
    for (const auto& pod : kPods) {
      addNamespace(pod.name);
      sh(node + "link add v" + pod.name + " type veth peer name eth0 netns " + nsOf(pod.name));
      sh(node + "link set v" + pod.name + " master br0 up");
      sh("ip -n " + nsOf(pod.name) + " addr add " + pod.ip + "/24 dev eth0");
      sh("ip -n " + nsOf(pod.name) + " link set eth0 up");
      sh("ip -n " + nsOf(pod.name) + " route add default via 10.42.0.1");
    }
    // A host outside the cluster with two addresses, routed through the node.
    addNamespace("x");
    sh(node + "link add vx type veth peer name eth0 netns " + nsOf("x"));
    sh(node + "addr add 10.99.0.1/24 dev vx");
    sh(node + "link set vx up");
    sh("ip -n " + nsOf("x") + " addr add 10.99.0.2/24 dev eth0");
    sh("ip -n " + nsOf("x") + " addr add 10.99.0.3/24 dev eth0");
    sh("ip -n " + nsOf("x") + " link set eth0 up");
    sh("ip -n " + nsOf("x") + " route add default via 10.99.0.1");
    for (const auto& pod : kPods) {
      servers_.push_back(
          std::make_unique<EchoServer>(nsOf(pod.name), pod.name, kTcpPorts, kUdpPorts));
    }
    servers_.push_back(std::make_unique<EchoServer>(nsOf("x"), "x", kTcpPorts, kUdpPorts));
    applied_ = State{};
    inNamespace(nsOf("node"), [] { NftablesRunner().syncAll(State{}); });
  }

  // The API objects of a case, as the informers would hand them over.
  static State stateOf(const Case& c) {
    std::vector<Pod> pods;
    pods.reserve(kPods.size());
    for (const auto& p : kPods) {
      pods.push_back(api::decodeYaml<Pod>("metadata: {namespace: " + p.ns + ", name: " + p.name +
                                          ", labels: " + p.labels + "}\nspec: {nodeName: " + kNode +
                                          ", containers: [{name: c, ports: " + p.ports +
                                          "}]}\nstatus: {phase: Running, podIP: " + p.ip + "}\n"));
    }
    const std::vector<Namespace> namespaces = {
        api::decodeYaml<Namespace>("metadata: {name: prod, labels: {team: prod}}\n"),
        api::decodeYaml<Namespace>("metadata: {name: dev, labels: " + c.devLabels + "}\n")};
    std::vector<NetworkPolicy> policies;
    for (const auto& [key, spec] : c.policies) {
      const auto slash = key.find('/');
      policies.push_back(api::decodeYaml<NetworkPolicy>(
          "metadata: {namespace: " + key.substr(0, slash) + ", name: " + key.substr(slash + 1) +
          "}\nspec: " + spec + "\n"));
    }
    auto state = computeState(policies, pods, namespaces, kNode);
    EXPECT_TRUE(state.errors.empty()) << c.name << ": " << state.errors.front();
    return state;
  }

  static std::string ipOf(const std::string& who) {
    if (who == "x2") return "10.99.0.2";
    if (who == "x3") return "10.99.0.3";
    for (const auto& p : kPods) {
      if (p.name == who) return p.ip;
    }
    throw std::invalid_argument("no such pod " + who);
  }

  static std::string check(const Probe& p) {
    const bool outside = p.from[0] == 'x';
    const std::string to = p.to[0] == 'x' ? "x" : p.to;
    return exchange(nsOf(outside ? "x" : p.from), outside ? ipOf(p.from) : "", p.proto, ipOf(p.to),
                    p.port, to);
  }

  static void apply(const State& next, bool full) {
    inNamespace(nsOf("node"), [&] {
      NftablesRunner runner;
      if (full) {
        runner.syncAll(next);
      } else {
        runner.syncChanges(applied_, next);
      }
    });
    applied_ = next;
  }

  static void expectCase(const Case& c) {
    for (const auto& p : c.probes) {
      const auto start = Clock::now();
      const std::string result = check(p);
      const std::string what =
          c.name + ": " + p.from + " -> " + p.to + " " + p.proto + "/" + std::to_string(p.port);
      if (p.allowed) {
        EXPECT_EQ(result, "ok") << what;
      } else {
        EXPECT_NE(result, "ok") << what;
        // Refused at once (TCP reset, ICMP admin-prohibited), not left to a timeout.
        EXPECT_LT(Clock::now() - start, std::chrono::milliseconds(900)) << what << ": " << result;
      }
    }
  }

  static inline std::string prefix_;
  static inline std::vector<std::string> namespaces_;
  static inline std::vector<std::unique_ptr<EchoServer>> servers_;
  static inline State applied_;
};

TEST_F(NetworkPolicyTraffic, TruthTableWithIncrementalSyncs) {
  ASSERT_GE(kCases.size(), 25U);
  for (const auto& c : kCases) {
    SCOPED_TRACE(c.name);
    apply(stateOf(c), false);
    expectCase(c);
  }
}

TEST_F(NetworkPolicyTraffic, FullSyncsGiveTheSameAnswers) {
  // Every third case from scratch (the start and after failures go this way).
  for (std::size_t i = 1; i < kCases.size(); i += 3) {
    SCOPED_TRACE(kCases[i].name);
    apply(stateOf(kCases[i]), true);
    expectCase(kCases[i]);
  }
}

TEST_F(NetworkPolicyTraffic, CleanupRemovesTheTable) {
  apply(stateOf(kCases[1]), true);  // default deny
  EXPECT_NE(check({"d", "a", "tcp", 80, false}), "ok");
  std::string listed;
  inNamespace(nsOf("node"), [&] {
    NftablesRunner runner;
    runner.cleanup();
    listed = runner.listTable();
    runner.cleanup();  // twice is fine
  });
  EXPECT_EQ(listed, "");
  EXPECT_EQ(check({"d", "a", "tcp", 80, true}), "ok");
  apply(State{}, true);
}

}  // namespace
}  // namespace kite::proxy::netpol
