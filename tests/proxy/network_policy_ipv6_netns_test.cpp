// NetworkPolicy over IPv6 and dual-stack with real traffic: three dual-stack "pods" (network
// namespaces) on a bridge in a "node" namespace (br_netfilter sends bridged IPv4 and IPv6
// through the inet forward hook), and an "outside" host routed through the node. Each case
// swaps the policies (syncs of `table inet kite-netpol` inside the node namespace only) and
// checks TCP and UDP exchanges over both families: allowed ones must get the server's name
// back, denied ones must fail at once. Neighbour caches are flushed before each case, so IPv6
// neighbour discovery between isolated pods is part of every check. ULA addresses (fd00::/8)
// without DAD; root only; the host's ruleset and addresses are never touched, and the
// namespaces (with their tables) are removed at the end.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "kite/api/json.h"
#include "kite/proxy/network_policy_dataplane.h"
#include "kite/proxy/network_policy_rules.h"
#include "kite/proxy/network_policy_state.h"
#include "netns.h"

namespace kite::proxy::netpol {
namespace {

using api::core::v1::Namespace;
using api::core::v1::Pod;
using api::networking::v1::NetworkPolicy;
using testing::inNamespace;
using testing::sh;
using testing::spawn;
using Clock = std::chrono::steady_clock;

// Every pod serves both; policies allow one and not the other.
constexpr int kPort = 8080;
constexpr int kOtherPort = 9090;

// The cluster the policies see; the namespaces below play its pods. One pod lists IPv6
// first, as an IPv6-primary dual-stack cluster does.
struct PodSpec {
  std::string name;  // also the echo server's answer
  std::string ns;
  std::string ip4;
  std::string ip6;
  bool ipv6Primary;
  std::string labels;
  std::string ports;  // container ports (YAML list)
};
// Function-local: built on first use, not at static initialisation.
const std::vector<PodSpec>& pods() {
  static const std::vector<PodSpec> kPods = {
      {"a", "prod", "10.42.0.2", "fd00:42::2", false, "{app: web}",
       "[{name: http, containerPort: 8080}]"},
      {"b", "prod", "10.42.0.3", "fd00:42::3", true, "{app: db}", "[]"},
      {"c", "dev", "10.42.0.4", "fd00:42::4", false, "{app: client}", "[]"},
  };
  return kPods;
}
constexpr const char* kNode = "node1";

struct Probe {
  std::string from;  // a pod, or x2 / x3: the outside host from its ::2 / ::3 (.2 / .3)
  std::string to;    // a pod, or x
  int family;        // 4 or 6
  std::string proto;
  int port;
  bool allowed;
};

struct Case {
  std::string name;
  // "namespace/name" -> spec (YAML flow style).
  std::vector<std::pair<std::string, std::string>> policies;
  std::vector<Probe> probes;
};

const std::vector<Case>& cases() {
  static const std::vector<Case> kCases = {
      {"no policy: both families flow",
       {},
       {{"c", "a", 6, "tcp", kPort, true},
        {"c", "a", 4, "tcp", kPort, true},
        {"x2", "b", 6, "udp", kPort, true},
        {"a", "x", 6, "tcp", kPort, true}}},
      {"default deny ingress blocks IPv6 and IPv4",
       {{"prod/deny", "{podSelector: {}}"}},
       {{"c", "a", 6, "tcp", kPort, false},
        {"c", "a", 4, "tcp", kPort, false},
        {"c", "b", 6, "udp", kPort, false},
        {"b", "a", 6, "tcp", kPort, false},
        {"x2", "a", 6, "tcp", kPort, false},
        {"a", "c", 6, "tcp", kPort, true},
        {"b", "c", 4, "udp", kPort, true}}},
      {"allow from a pod label admits that pod over both families",
       {{"prod/deny", "{podSelector: {}}"},
        {"prod/web",
         "{podSelector: {matchLabels: {app: web}}, ingress: [{from: [{namespaceSelector: {}, "
         "podSelector: {matchLabels: {app: client}}}]}]}"}},
       {{"c", "a", 6, "tcp", kPort, true},
        {"c", "a", 4, "tcp", kPort, true},
        {"c", "a", 6, "udp", kOtherPort, true},
        {"b", "a", 6, "tcp", kPort, false},
        {"b", "a", 4, "tcp", kPort, false},
        {"c", "b", 6, "tcp", kPort, false},
        {"x2", "a", 6, "tcp", kPort, false}}},
      {"named port and endPort per family",
       {{"prod/web",
         "{podSelector: {matchLabels: {app: web}}, ingress: [{ports: [{port: http}]}]}"},
        {"prod/db",
         "{podSelector: {matchLabels: {app: db}}, ingress: [{ports: [{port: 9000, endPort: "
         "9100}]}]}"}},
       {{"c", "a", 6, "tcp", kPort, true},
        {"c", "a", 4, "tcp", kPort, true},
        {"c", "a", 6, "tcp", kOtherPort, false},
        {"c", "b", 6, "tcp", kOtherPort, true},
        {"c", "b", 4, "tcp", kOtherPort, true},
        {"c", "b", 6, "tcp", kPort, false},
        {"c", "b", 6, "udp", kOtherPort, false}}},
      {"IPv6 ipBlock with except",
       {{"prod/web",
         "{podSelector: {matchLabels: {app: web}}, ingress: [{from: [{ipBlock: {cidr: "
         "\"fd00:99::/64\", except: [\"fd00:99::3/128\"]}}]}]}"}},
       {{"x2", "a", 6, "tcp", kPort, true},
        {"x2", "a", 6, "udp", kPort, true},
        {"x3", "a", 6, "tcp", kPort, false},
        {"x2", "a", 4, "tcp", kPort, false},  // an IPv6 block never matches IPv4
        {"c", "a", 6, "tcp", kPort, false}}},
      {"IPv4 ipBlock never matches IPv6",
       {{"prod/web",
         "{podSelector: {matchLabels: {app: web}}, ingress: [{from: [{ipBlock: {cidr: "
         "10.99.0.0/24}}]}]}"}},
       {{"x2", "a", 4, "tcp", kPort, true},
        {"x3", "a", 4, "tcp", kPort, true},
        {"x2", "a", 6, "tcp", kPort, false}}},
      {"egress deny with one IPv6 allow",
       {{"prod/out",
         "{podSelector: {matchLabels: {app: web}}, policyTypes: [Egress], egress: [{to: "
         "[{ipBlock: {cidr: \"fd00:42::3/128\"}}], ports: [{port: 8080}]}]}"}},
       {{"a", "b", 6, "tcp", kPort, true},
        {"a", "b", 6, "udp", kPort, false},
        {"a", "b", 4, "tcp", kPort, false},
        {"a", "b", 6, "tcp", kOtherPort, false},
        {"a", "c", 6, "tcp", kPort, false},
        {"a", "x", 6, "tcp", kPort, false},
        {"b", "c", 6, "tcp", kPort, true}}},
      {"egress to a pod label over both families",
       {{"prod/out",
         "{podSelector: {matchLabels: {app: web}}, policyTypes: [Egress], egress: [{to: "
         "[{namespaceSelector: {}, podSelector: {matchLabels: {app: client}}}]}]}"}},
       {{"a", "c", 6, "tcp", kPort, true},
        {"a", "c", 4, "udp", kOtherPort, true},
        {"a", "b", 6, "tcp", kPort, false},
        {"a", "x", 4, "tcp", kPort, false}}},
      {"policies removed: everything flows again",
       {},
       {{"c", "a", 6, "tcp", kPort, true},
        {"a", "x", 6, "tcp", kPort, true},
        {"x3", "a", 6, "udp", kPort, true}}},
  };
  return kCases;
}

class NetworkPolicyIPv6Traffic : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (geteuid() != 0) return;
    prefix_ = "knp6-" + std::to_string(getpid()) + "-";
    try {
      buildNetwork();
    } catch (...) {
      TearDownTestSuite();
      throw;
    }
  }

  static void TearDownTestSuite() {
    for (const pid_t pid : servers_) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
    }
    servers_.clear();
    // Deleting the node namespace removes its table with it.
    for (const auto& ns : namespaces_) std::system(("ip netns del " + ns + " 2>/dev/null").c_str());
    namespaces_.clear();
    std::error_code ec;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
    dir_.clear();
  }

  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root for network namespaces";
  }

  static std::string nsOf(const std::string& name) { return prefix_ + name; }

  // Addresses usable at once (no duplicate address detection). Listed first, so that the
  // teardown removes it even when its setup fails half-way.
  static void addNamespace(const std::string& name) {
    namespaces_.push_back(nsOf(name));
    testing::addNamespace(nsOf(name), /*dualStack=*/true);
  }

  static void serve(const std::string& ns, const std::string& name, int port) {
    const std::string ready = dir_ + "/ready-" + name + "-" + std::to_string(port);
    servers_.push_back(spawn({"ip", "netns", "exec", nsOf(ns), "/usr/bin/python3",
                              dir_ + "/server.py", name, std::to_string(port), ready}));
    readyFiles_.push_back(ready);
  }

  static void buildNetwork() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "kite-netpol6-XXXXXX").string();
    if (mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    dir_ = tmpl;
    std::ofstream(dir_ + "/server.py") << testing::kDualStackEchoServer;
    std::ofstream(dir_ + "/client.py") << testing::kEchoClient;

    addNamespace("node");
    const std::string node = "ip -n " + nsOf("node") + " ";
    const std::string nodeSysctl = "ip netns exec " + nsOf("node") + " sysctl -qw ";
    sh(nodeSysctl + "net.ipv4.ip_forward=1");
    sh(nodeSysctl + "net.ipv6.conf.all.forwarding=1");
    // Bridged pod-to-pod traffic of both families through the inet hooks, as on a node with
    // br_netfilter.
    sh(nodeSysctl + "net.bridge.bridge-nf-call-iptables=1");
    sh(nodeSysctl + "net.bridge.bridge-nf-call-ip6tables=1");
    sh(node + "link add br0 type bridge");
    sh(node + "addr add 10.42.0.1/24 dev br0");
    sh(node + "addr add fd00:42::1/64 dev br0 nodad");
    sh(node + "link set br0 up");
    for (const auto& pod : pods()) {
      addNamespace(pod.name);
      const std::string in = "ip -n " + nsOf(pod.name) + " ";
      sh(node + "link add v" + pod.name + " type veth peer name eth0 netns " + nsOf(pod.name));
      sh(node + "link set v" + pod.name + " master br0 up");
      sh(in + "addr add " + pod.ip4 + "/24 dev eth0");
      sh(in + "addr add " + pod.ip6 + "/64 dev eth0 nodad");
      sh(in + "link set eth0 up");
      sh(in + "route add default via 10.42.0.1");
      sh(in + "-6 route add default via fd00:42::1");
    }
    // A host outside the cluster with two addresses per family, routed through the node.
    addNamespace("x");
    const std::string x = "ip -n " + nsOf("x") + " ";
    sh(node + "link add vx type veth peer name eth0 netns " + nsOf("x"));
    sh(node + "addr add 10.99.0.1/24 dev vx");
    sh(node + "addr add fd00:99::1/64 dev vx nodad");
    sh(node + "link set vx up");
    for (const char* address : {"10.99.0.2/24", "10.99.0.3/24"}) {
      sh(x + "addr add " + address + " dev eth0");
    }
    for (const char* address : {"fd00:99::2/64", "fd00:99::3/64"}) {
      sh(x + "addr add " + address + " dev eth0 nodad");
    }
    sh(x + "link set eth0 up");
    sh(x + "route add default via 10.99.0.1");
    sh(x + "-6 route add default via fd00:99::1");

    for (const auto& pod : pods()) {
      serve(pod.name, pod.name, kPort);
      serve(pod.name, pod.name, kOtherPort);
    }
    serve("x", "x", kPort);
    const auto deadline = Clock::now() + std::chrono::seconds(30);
    for (const auto& ready : readyFiles_) {
      while (!std::filesystem::exists(ready)) {
        if (Clock::now() > deadline) throw std::runtime_error("servers not up");
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    }
    applied_ = State{};
    inNamespace(nsOf("node"), [] { NftablesRunner().syncAll(State{}); });
  }

  // The API objects of a case, as the informers would hand them over: status.podIPs of both
  // families, status.podIP the primary one.
  static State stateOf(const Case& c) {
    std::vector<Pod> objects;
    for (const auto& p : pods()) {
      const std::string& first = p.ipv6Primary ? p.ip6 : p.ip4;
      const std::string& second = p.ipv6Primary ? p.ip4 : p.ip6;
      std::ostringstream yaml;
      yaml << "metadata: {namespace: " << p.ns << ", name: " << p.name << ", labels: " << p.labels
           << "}\nspec: {nodeName: " << kNode << ", containers: [{name: c, ports: " << p.ports
           << "}]}\nstatus: {phase: Running, podIP: \"" << first << "\", podIPs: [{ip: \"" << first
           << "\"}, {ip: \"" << second << "\"}]}\n";
      objects.push_back(api::decodeYaml<Pod>(yaml.str()));
    }
    const std::vector<Namespace> namespaces = {
        api::decodeYaml<Namespace>("metadata: {name: prod, labels: {team: prod}}\n"),
        api::decodeYaml<Namespace>("metadata: {name: dev, labels: {team: dev}}\n")};
    std::vector<NetworkPolicy> policies;
    for (const auto& [key, spec] : c.policies) {
      const auto slash = key.find('/');
      policies.push_back(api::decodeYaml<NetworkPolicy>(
          "metadata: {namespace: " + key.substr(0, slash) + ", name: " + key.substr(slash + 1) +
          "}\nspec: " + spec + "\n"));
    }
    auto state = computeState(policies, objects, namespaces, kNode);
    EXPECT_TRUE(state.errors.empty()) << c.name << ": " << state.errors.front();
    return state;
  }

  static std::string addressOf(const std::string& who, int family) {
    if (who == "x" || who == "x2") return family == 6 ? "fd00:99::2" : "10.99.0.2";
    if (who == "x3") return family == 6 ? "fd00:99::3" : "10.99.0.3";
    for (const auto& p : pods()) {
      if (p.name == who) return family == 6 ? p.ip6 : p.ip4;
    }
    throw std::invalid_argument("no such pod " + who);
  }

  // What the destination answered, or why it did not (one exchange, a connected socket; the
  // outside host from the address the probe names).
  static std::string check(const Probe& p) {
    const bool outside = p.from[0] == 'x';
    const auto lines = testing::runClient(
        dir_ + "/client.py", nsOf(outside ? "x" : p.from), p.proto, addressOf(p.to, p.family),
        p.port, 1, {.sourceAddress = outside ? addressOf(p.from, p.family) : ""});
    return lines.empty() ? "" : lines.front();
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

  // Every exchange starts with cold neighbour caches: IPv6 neighbour discovery between the
  // pods (bridged, so through the forward hook) has to pass the isolation too.
  static void forgetNeighbours() {
    for (const auto& ns : namespaces_) sh("ip -n " + ns + " neigh flush all");
  }

  static void expectCase(const Case& c) {
    for (const auto& p : c.probes) {
      forgetNeighbours();
      const auto start = Clock::now();
      const std::string result = check(p);
      const std::string what = c.name + ": " + p.from + " -> " + p.to + " IPv" +
                               std::to_string(p.family) + " " + p.proto + "/" +
                               std::to_string(p.port);
      if (p.allowed) {
        EXPECT_EQ(result, p.to) << what;
      } else {
        EXPECT_NE(result, p.to) << what;
        // Refused at once (TCP reset, ICMP admin-prohibited), not left to a timeout.
        EXPECT_NE(result, "TIMEOUT") << what;
        if (p.proto == "tcp") {
          EXPECT_EQ(result, "REFUSED") << what;
        }
        EXPECT_LT(Clock::now() - start, std::chrono::milliseconds(1500)) << what << ": " << result;
      }
    }
  }

  static inline std::string prefix_;
  static inline std::string dir_;
  static inline std::vector<std::string> namespaces_;
  static inline std::vector<pid_t> servers_;
  static inline std::vector<std::string> readyFiles_;
  static inline State applied_;
};

TEST_F(NetworkPolicyIPv6Traffic, TruthTableWithIncrementalSyncs) {
  for (const auto& c : cases()) {
    SCOPED_TRACE(c.name);
    apply(stateOf(c), false);
    expectCase(c);
  }
}

TEST_F(NetworkPolicyIPv6Traffic, FullSyncsGiveTheSameAnswers) {
  for (std::size_t i = cases().size(); i-- > 0;) {  // backwards: other transitions than above
    SCOPED_TRACE(cases()[i].name);
    apply(stateOf(cases()[i]), true);
    expectCase(cases()[i]);
  }
}

TEST_F(NetworkPolicyIPv6Traffic, CleanupRemovesTheTable) {
  apply(stateOf(cases()[1]), true);  // default deny
  EXPECT_EQ(check({"c", "a", 6, "tcp", kPort, false}), "REFUSED");
  std::string listed;
  inNamespace(nsOf("node"), [&] {
    NftablesRunner runner;
    runner.cleanup();
    listed = runner.listTable();
  });
  EXPECT_EQ(listed, "");
  EXPECT_EQ(check({"c", "a", 6, "tcp", kPort, true}), "a");
  EXPECT_EQ(check({"c", "a", 4, "tcp", kPort, true}), "a");
  apply(State{}, true);
}

}  // namespace
}  // namespace kite::proxy::netpol
