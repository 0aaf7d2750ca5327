// The proxy's Service suite, one set of cases run against every backend (traffic.h): real
// TCP and UDP between the network namespaces of netns.h, the backend's dataplane made and
// synced in the "node" namespace. A client "on the node side" (the client namespace for
// ClusterIPs, a pod, the node itself) runs the way the backend needs to translate it (for
// eBPF: inside the test's cgroup v2 child); a client "outside" is a machine beyond the node,
// which the eBPF backend serves with its nftables table (`northSouth`). What a backend cannot
// do by design is skipped with the reason. Root only (CI runs as root); the host's own
// namespaces, ruleset, cgroups and pins are never touched.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <memory>
#include <ostream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "kite/proxy/nft_rules.h"
#include "netns.h"
#include "traffic.h"

namespace kite::proxy::testing {

void PrintTo(const BackendKind& kind, std::ostream* os) { *os << kind.traits.name; }

namespace {

using ::testing::Contains;
using ::testing::Each;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

using Names = std::set<std::string>;

class ServiceTraffic : public ::testing::TestWithParam<BackendKind> {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root for network namespaces (and BPF)";
    net_ = std::make_unique<TestNetwork>(3, kPodPort);
    backend_ = GetParam().make();
  }
  void TearDown() override {
    backend_.reset();  // the dataplane goes before the namespaces it lives in
    net_.reset();
  }

  const BackendTraits& traits() const { return GetParam().traits; }

  void start(const BackendOptions& options) { backend_->start(*net_, options); }
  void syncAll(const DesiredState& state) {
    if (!backend_->started()) start({});
    backend_->syncAll(state);
  }
  void syncChanges(const DesiredState& applied, const DesiredState& next) {
    backend_->syncChanges(applied, next);
  }

  ServicePortState svc(const std::string& name, const std::string& ip, int port,
                       const std::vector<int>& pods, const std::string& proto = "tcp") const {
    return service(*net_, name, ip, port, pods, proto);
  }

  // Clients on the node side, translated by the backend: from the client namespace, from pod
  // i, from the node itself.
  std::vector<std::string> onNodeSide(const std::string& ns, const std::string& proto,
                                      const std::string& ip, int port, int count,
                                      ClientOptions options = {}) const {
    options.wrap = [this](const std::string& command) { return backend_->wrapClient(command); };
    return net_->connect(ns, proto, ip, port, count, options);
  }
  std::vector<std::string> fromClient(const std::string& proto, const std::string& ip, int port,
                                      int count, ClientOptions options = {}) const {
    return onNodeSide(net_->clientNs(), proto, ip, port, count, std::move(options));
  }
  std::vector<std::string> fromPod(int pod, const std::string& proto, const std::string& ip,
                                   int port, int count) const {
    return onNodeSide(net_->podNs(pod), proto, ip, port, count);
  }
  std::vector<std::string> fromNode(const std::string& proto, const std::string& ip, int port,
                                    int count) const {
    return onNodeSide(net_->nodeNs(), proto, ip, port, count);
  }
  // A machine outside the node (the client namespace as it is).
  std::vector<std::string> fromOutside(const std::string& proto, const std::string& ip, int port,
                                       int count) const {
    return net_->connect(net_->clientNs(), proto, ip, port, count);
  }

  // What the backend holds in the kernel is exactly `state`: its Service addresses, one
  // backend element per endpoint (where the backend lets a test read them).
  void expectHolds(const DesiredState& state) const {
    if (const auto held = backend_->heldAddresses()) {
      std::set<std::string> addresses;
      for (const auto& [key, port] : state.services) {
        addresses.insert(port.clusterIP);
        addresses.insert(port.externalIPs.begin(), port.externalIPs.end());
      }
      EXPECT_EQ(*held, addresses);
    }
    if (const auto held = backend_->heldBackends()) {
      std::size_t endpoints = 0;
      for (const auto& [key, port] : state.services) endpoints += port.endpoints.size();
      EXPECT_EQ(*held, endpoints);
    }
  }

  std::unique_ptr<TestNetwork> net_;
  std::unique_ptr<Backend> backend_;
};

TEST_P(ServiceTraffic, ClusterIPSpreadsOverAllEndpointsTcpAndUdp) {
  const auto state = stateOf(
      {svc("web", "10.43.0.10", 80, {0, 1, 2}), svc("dns", "10.43.0.11", 53, {0, 1}, "udp")});
  syncAll(state);
  expectHolds(state);
  const auto tcp = fromClient("tcp", "10.43.0.10", 80, 30, {.showPeer = true});
  ASSERT_EQ(tcp.size(), 30U);
  EXPECT_EQ(pods(tcp), (Names{"a", "b", "c"}));
  // The client's socket shows the Service as its peer, not the pod it reached.
  EXPECT_EQ(peers(tcp), (Names{"10.43.0.10:80"}));
  // A new source port each time: a new flow each time.
  const auto udp = fromClient("udp", "10.43.0.11", 53, 20, {.showPeer = true});
  ASSERT_EQ(udp.size(), 20U);
  EXPECT_EQ(pods(udp), (Names{"a", "b"}));
  EXPECT_EQ(peers(udp), (Names{"10.43.0.11:53"}));
  if (traits().roundRobin) {  // every endpoint gets its share
    EXPECT_EQ(counts(tcp),
              (std::map<std::string, int>{
                  {"a 10.43.0.10:80", 10}, {"b 10.43.0.10:80", 10}, {"c 10.43.0.10:80", 10}}));
    EXPECT_EQ(counts(udp),
              (std::map<std::string, int>{{"a 10.43.0.11:53", 10}, {"b 10.43.0.11:53", 10}}));
  }
  // Every connection the backend relayed itself was closed when its ends were done.
  EXPECT_EQ(backend_->openRelays(), 0U);
}

TEST_P(ServiceTraffic, PodsReachTheirOwnService) {
  syncAll(stateOf({svc("web", "10.43.0.10", 80, {0, 1})}));
  // Some of these land on pod a itself (hairpin: with NAT, without the masquerade its own
  // kernel would drop them).
  EXPECT_EQ(distinct(fromPod(0, "tcp", "10.43.0.10", 80, 20)), (Names{"a", "b"}));
}

TEST_P(ServiceTraffic, ExternalIPsAreTranslatedForClientsOnTheNodeSide) {
  auto web = svc("web", "10.43.0.10", 80, {2});
  web.externalIPs = {"192.0.2.10"};
  syncAll(stateOf({web}));
  const auto lines = fromClient("tcp", "192.0.2.10", 80, 3, {.showPeer = true});
  EXPECT_THAT(lines, ElementsAre("c 192.0.2.10:80", "c 192.0.2.10:80", "c 192.0.2.10:80"));
}

TEST_P(ServiceTraffic, NodePortFromOutsideTheCluster) {
  start({.northSouth = true});
  auto web = svc("web", "10.43.0.10", 80, {1});
  web.nodePort = 30080;
  auto dns = svc("dns", "10.43.0.11", 53, {2}, "udp");
  dns.nodePort = 30053;
  syncAll(stateOf({web, dns}));
  // The node's address on the client's side; the client is outside 10.42.0.0/16.
  EXPECT_THAT(fromOutside("tcp", "10.99.0.1", 30080, 3), Each(std::string("b")));
  EXPECT_THAT(fromOutside("udp", "10.99.0.1", 30053, 3), Each(std::string("c")));
  // Not a NodePort: nothing listens on the node.
  EXPECT_THAT(fromOutside("tcp", "10.99.0.1", 30081, 1), Each(std::string("REFUSED")));
  // Clients on the node side still reach the ClusterIP (eBPF: translated at their connect).
  EXPECT_THAT(fromClient("tcp", "10.43.0.10", 80, 3), Each(std::string("b")));
}

TEST_P(ServiceTraffic, NodePortAnswersOnLoopbackForLocalClients) {
  start({.northSouth = true});
  auto web = svc("web", "10.43.0.10", 80, {1});
  web.nodePort = 30080;
  syncAll(stateOf({web}));
  EXPECT_THAT(fromNode("tcp", "127.0.0.1", 30080, 3), Each(std::string("b")));
  EXPECT_THAT(fromNode("udp", "127.0.0.1", 30080, 1), Each(std::string("REFUSED")));  // TCP only
  if (traits().nftablesTable) {  // DNATed loopback traffic may leave lo only with this
    EXPECT_EQ(net_->run(net_->nodeNs(), "cat /proc/sys/net/ipv4/conf/all/route_localnet"), "1\n");
  }
}

TEST_P(ServiceTraffic, NodePortAddressesLimitWhereNodePortsAnswer) {
  start({.northSouth = true, .nodePortAddresses = {"10.42.0.0/16"}});
  auto web = svc("web", "10.43.0.10", 80, {1});
  web.nodePort = 30080;
  syncAll(stateOf({web}));
  // On the node's pod-side address (10.42.3.1, seen from pod c) but not on 10.99.0.1.
  EXPECT_THAT(fromPod(2, "tcp", "10.42.3.1", 30080, 2), Each(std::string("b")));
  EXPECT_THAT(fromOutside("tcp", "10.99.0.1", 30080, 1), Each(std::string("REFUSED")));
  EXPECT_THAT(fromNode("tcp", "127.0.0.1", 30080, 1), Each(std::string("REFUSED")));
}

TEST_P(ServiceTraffic, ServiceWithoutEndpointsRefusesAtOnce) {
  // No north-south table for eBPF: the refusal must come from the socket programs.
  syncAll(stateOf({svc("empty", "10.43.0.13", 80, {}), svc("dns", "10.43.0.14", 53, {}, "udp")}));
  const auto began = std::chrono::steady_clock::now();
  EXPECT_THAT(fromClient("tcp", "10.43.0.13", 80, 3), ElementsAre("REFUSED", "REFUSED", "REFUSED"));
  EXPECT_THAT(fromClient("udp", "10.43.0.14", 53, 2), ElementsAre("REFUSED", "REFUSED"));
  // A timeout would take 2 s per attempt.
  EXPECT_LT(std::chrono::steady_clock::now() - began, std::chrono::seconds(2));
}

TEST_P(ServiceTraffic, NodePortWithoutEndpointsRefusesAtOnce) {
  start({.northSouth = true});
  auto empty = svc("empty", "10.43.0.13", 80, {});
  empty.nodePort = 30013;
  syncAll(stateOf({empty}));
  const auto began = std::chrono::steady_clock::now();
  EXPECT_THAT(fromOutside("tcp", "10.99.0.1", 30013, 2), ElementsAre("REFUSED", "REFUSED"));
  EXPECT_LT(std::chrono::steady_clock::now() - began, std::chrono::seconds(2));
}

TEST_P(ServiceTraffic, ClientIPAffinityPinsAClientAndForgetsARemovedEndpoint) {
  auto sticky = svc("sticky", "10.43.0.15", 80, {0, 1, 2});
  sticky.affinityTimeoutSeconds = 60;
  auto dns = svc("dns", "10.43.0.16", 53, {0, 1, 2}, "udp");
  dns.affinityTimeoutSeconds = 60;
  syncAll(stateOf({sticky, dns}));
  const auto tcp = fromClient("tcp", "10.43.0.15", 80, 15);
  ASSERT_EQ(tcp.size(), 15U);
  ASSERT_EQ(distinct(tcp).size(), 1U) << ::testing::PrintToString(tcp);
  ASSERT_THAT((Names{"a", "b", "c"}), Contains(tcp[0]));
  const auto udp = fromClient("udp", "10.43.0.16", 53, 10);
  ASSERT_EQ(udp.size(), 10U);
  EXPECT_EQ(distinct(udp).size(), 1U) << ::testing::PrintToString(udp);
  EXPECT_THAT((Names{"a", "b", "c"}), Contains(udp[0]));

  // The pinned endpoint leaves: the client is pinned to another one.
  auto without = sticky;
  without.endpoints.erase(without.endpoints.begin() + (tcp[0][0] - 'a'));
  syncChanges(stateOf({sticky, dns}), stateOf({without, dns}));
  const auto repinned = fromClient("tcp", "10.43.0.15", 80, 15);
  ASSERT_EQ(distinct(repinned).size(), 1U) << ::testing::PrintToString(repinned);
  EXPECT_NE(repinned[0], tcp[0]);
  EXPECT_THAT((Names{"a", "b", "c"}), Contains(repinned[0]));

  // Without affinity the same client is spread (the control for the above).
  syncAll(stateOf({svc("sticky", "10.43.0.15", 80, {0, 1, 2})}));
  EXPECT_EQ(distinct(fromClient("tcp", "10.43.0.15", 80, 30)), (Names{"a", "b", "c"}));
}

TEST_P(ServiceTraffic, IncrementalSyncsRemoveEndpointsAndServices) {
  const auto web = svc("web", "10.43.0.10", 80, {0, 1, 2});
  const auto db = svc("db", "10.43.0.20", 5432, {2});
  const auto dns = svc("dns", "10.43.0.11", 53, {0}, "udp");
  const auto first = stateOf({web, db, dns});
  syncAll(first);
  expectHolds(first);
  ASSERT_EQ(distinct(fromClient("tcp", "10.43.0.10", 80, 30)).size(), 3U);

  // Endpoint c goes: no new connection reaches it; db and dns are left alone (in the nftables
  // text too, which the eBPF backend's north-south table shares).
  const auto second = stateOf({svc("web", "10.43.0.10", 80, {0, 1}), db, dns});
  const nft::RulesOptions rules{.clusterCidr = "10.42.0.0/16"};
  ASSERT_THAT(nft::renderChanges(first, second, rules), Not(HasSubstr("db")));
  syncChanges(first, second);
  expectHolds(second);
  EXPECT_EQ(distinct(fromClient("tcp", "10.43.0.10", 80, 30)), (Names{"a", "b"}));
  EXPECT_THAT(fromClient("tcp", "10.43.0.20", 5432, 2), Each(std::string("c")));
  EXPECT_THAT(fromClient("udp", "10.43.0.11", 53, 3), Each(std::string("a")));

  // The last endpoints go: the Service refuses; then the Service goes.
  const auto third = stateOf({svc("web", "10.43.0.10", 80, {}), db, dns});
  syncChanges(second, third);
  expectHolds(third);
  EXPECT_THAT(fromClient("tcp", "10.43.0.10", 80, 2), Each(std::string("REFUSED")));
  const auto fourth = stateOf({db, dns});
  syncChanges(third, fourth);
  expectHolds(fourth);
  // Not refused by the proxy any more: it leaves by the node's default route, unanswered.
  EXPECT_THAT(fromClient("tcp", "10.43.0.10", 80, 1, {.timeout = 0.3}), ElementsAre("TIMEOUT"));
  EXPECT_THAT(fromClient("udp", "10.43.0.11", 53, 3), Each(std::string("a")));
  // And it comes back with endpoints.
  syncChanges(fourth, first);
  expectHolds(first);
  EXPECT_EQ(distinct(fromClient("tcp", "10.43.0.10", 80, 30)).size(), 3U);
}

TEST_P(ServiceTraffic, RemovedUdpEndpointLosesItsFlows) {
  if (traits().socketLevel) {
    GTEST_SKIP() << "translated once per socket at connect (ebpf/README.md): no NAT flow pins "
                    "the client's datagrams, each new socket picks its backend anew";
  }
  // A long idle timeout (userspace): only the endpoint's removal can end the flow in time.
  start({.udpIdleTimeout = std::chrono::seconds(60)});
  const auto both = stateOf({svc("dns", "10.43.0.11", 53, {0, 1}, "udp")});
  syncAll(both);
  // One client source port: the flow (conntrack, or kite's relay) pins all its datagrams to
  // one endpoint.
  constexpr int kSourcePort = 40053;
  const auto before = fromClient("udp", "10.43.0.11", 53, 3, {.sourcePort = kSourcePort});
  ASSERT_EQ(before.size(), 3U);
  ASSERT_EQ(distinct(before).size(), 1U) << ::testing::PrintToString(before);
  const std::string pinned = before[0];
  ASSERT_TRUE(pinned == "a" || pinned == "b") << pinned;
  const int remaining = pinned == "a" ? 1 : 0;

  // The pinned endpoint leaves the Service (its pod still answers: only the stale flow would
  // take the client there).
  const auto after = stateOf({svc("dns", "10.43.0.11", 53, {remaining}, "udp")});
  syncChanges(both, after);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // a tick of kite's relay loop
  EXPECT_THAT(fromClient("udp", "10.43.0.11", 53, 3, {.sourcePort = kSourcePort}),
              Each(net_->podName(remaining)));
  if (traits().nftablesTable) {
    EXPECT_THAT(net_->run(net_->nodeNs(), "cat /proc/net/nf_conntrack"),
                Not(HasSubstr("src=" + net_->podIP(pinned == "a" ? 0 : 1))));
  }
}

TEST_P(ServiceTraffic, UdpFlowsRefusedWithoutEndpointsReachNewOnes) {
  const auto none = stateOf({svc("dns", "10.43.0.12", 53, {}, "udp")});
  syncAll(none);
  constexpr int kSourcePort = 40054;
  EXPECT_THAT(fromClient("udp", "10.43.0.12", 53, 1, {.sourcePort = kSourcePort}),
              ElementsAre("REFUSED"));
  const auto one = stateOf({svc("dns", "10.43.0.12", 53, {2}, "udp")});
  syncChanges(none, one);
  EXPECT_THAT(fromClient("udp", "10.43.0.12", 53, 2, {.sourcePort = kSourcePort}),
              ElementsAre("c", "c"));
}

TEST_P(ServiceTraffic, ExternalTrafficPolicyLocalUsesLocalEndpoints) {
  start({.northSouth = true});
  auto web = svc("web", "10.43.0.10", 80, {0, 1});
  web.nodePort = 30080;
  web.externalPolicyLocal = true;
  web.endpoints[0].local = true;  // pod a runs on this node, b elsewhere
  auto none = svc("none", "10.43.0.11", 80, {1});
  none.nodePort = 30081;
  none.externalPolicyLocal = true;
  syncAll(stateOf({web, none}));
  EXPECT_THAT(fromOutside("tcp", "10.99.0.1", 30080, 12), Each(std::string("a")));
  if (traits().keepsClientAddress) {
    // Not masqueraded: pod a answered the client's own address.
    EXPECT_THAT(net_->run(net_->nodeNs(), "cat /proc/net/nf_conntrack"),
                HasSubstr("src=10.42.1.2 dst=10.99.0.2 sport=8080"));
  }
  // The ClusterIP still spreads over both.
  EXPECT_EQ(distinct(fromClient("tcp", "10.43.0.10", 80, 30)), (Names{"a", "b"}));
  // No local endpoint: dropped (a load balancer's health check steers clients away). Without a
  // packet filter (userspace) nothing can drop: the port has no listener, refused.
  EXPECT_THAT(fromOutside("tcp", "10.99.0.1", 30081, 1),
              ElementsAre(traits().nftablesTable ? "TIMEOUT" : "REFUSED"));
}

TEST_P(ServiceTraffic, InternalTrafficPolicyLocalUsesLocalEndpoints) {
  auto web = svc("web", "10.43.0.10", 80, {0, 1, 2});
  web.internalPolicyLocal = true;
  web.endpoints[2].local = true;
  syncAll(stateOf({web}));
  EXPECT_THAT(fromClient("tcp", "10.43.0.10", 80, 12), Each(std::string("c")));
}

TEST_P(ServiceTraffic, ExternalAndLoadBalancerIPsWithSourceRanges) {
  start({.northSouth = true});
  auto lb = svc("lb", "10.43.0.10", 80, {0});
  lb.externalIPs = {"192.0.2.10", "192.0.2.12"};
  lb.loadBalancerIPs = {"192.0.2.10"};
  lb.loadBalancerSourceRanges = {"10.99.0.0/24"};
  auto closed = svc("closed", "10.43.0.11", 80, {1});
  closed.externalIPs = {"192.0.2.11"};
  closed.loadBalancerIPs = {"192.0.2.11"};
  closed.loadBalancerSourceRanges = {"10.98.0.0/24", "10.97.0.0/16"};
  syncAll(stateOf({lb, closed}));
  EXPECT_THAT(fromOutside("tcp", "192.0.2.10", 80, 3), Each(std::string("a")));
  EXPECT_THAT(fromOutside("tcp", "192.0.2.12", 80, 2), Each(std::string("a")));
  // Not from the ranges: dropped; without a packet filter (userspace) accepted and reset at
  // once, never relayed.
  EXPECT_THAT(fromOutside("tcp", "192.0.2.11", 80, 1),
              ElementsAre(traits().nftablesTable ? "TIMEOUT" : "ERR 104"));
  // The ClusterIP is not behind the ranges.
  EXPECT_THAT(fromOutside("tcp", "10.43.0.11", 80, 2), Each(std::string("b")));
}

TEST_P(ServiceTraffic, CleanupLeavesNothingBehind) {
  start({.northSouth = true});
  syncAll(stateOf({svc("web", "10.43.0.10", 80, {0})}));
  EXPECT_THAT(fromClient("tcp", "10.43.0.10", 80, 1), ElementsAre("a"));
  EXPECT_NE(backend_->leftovers(), "");
  backend_->cleanup();
  EXPECT_EQ(backend_->leftovers(), "");
  EXPECT_THAT(fromClient("tcp", "10.43.0.10", 80, 1, {.timeout = 0.3}), ElementsAre("TIMEOUT"));
}

INSTANTIATE_TEST_SUITE_P(Backend, ServiceTraffic,
                         ::testing::Values(nftablesBackend(), ebpfBackend(), userspaceBackend()),
                         [](const ::testing::TestParamInfo<BackendKind>& backend) {
                           return backend.param.traits.name;
                         });

}  // namespace
}  // namespace kite::proxy::testing
