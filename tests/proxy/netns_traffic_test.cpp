// Real traffic through the nftables dataplane: the proxy's table is applied inside a "node"
// namespace (a forked child enters it), pods serve TCP and UDP echo, a client outside the
// cluster connects. Root only (CI runs as root); the host's own ruleset is never touched.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <set>
#include <stdexcept>

#include "kite/proxy/health_check_servers.h"
#include "kite/proxy/nft_rules.h"
#include "kite/proxy/nftables_dataplane.h"
#include "kite/proxy/node_routes.h"
#include "netns.h"

namespace kite::proxy {
namespace {

using ::testing::Each;
using ::testing::HasSubstr;

constexpr int kPodPort = 8080;
const nft::RulesOptions kOptions{.clusterCidr = "10.42.0.0/16"};

class ProxyTraffic : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root for network namespaces";
    net_ = std::make_unique<testing::TestNetwork>(3, kPodPort);
  }

  ServicePortState service(const std::string& name, const std::string& ip, int port,
                           std::vector<int> pods, const std::string& proto = "tcp") {
    ServicePortState p;
    p.namespace_ = "default";
    p.name = name;
    p.protocol = proto;
    p.clusterIP = ip;
    p.port = port;
    for (const int i : pods) p.endpoints.push_back({net_->podIP(i), kPodPort});
    std::sort(p.endpoints.begin(), p.endpoints.end());
    return p;
  }

  static DesiredState stateOf(const std::vector<ServicePortState>& ports) {
    DesiredState s;
    for (const auto& p : ports) s.services.emplace(p.key(), p);
    return s;
  }

  void syncAll(const DesiredState& state, const nft::RulesOptions& options = kOptions) {
    net_->inNode([&] { NftablesDataplane(options).syncAll(state); });
  }
  void syncChanges(const DesiredState& applied, const DesiredState& next) {
    net_->inNode([&] { NftablesDataplane(kOptions).syncChanges(applied, next); });
  }

  std::vector<std::string> fromClient(const std::string& proto, const std::string& ip, int port,
                                      int count) {
    return net_->connect(net_->clientNs(), proto, ip, port, count);
  }

  static std::set<std::string> distinct(const std::vector<std::string>& lines) {
    return {lines.begin(), lines.end()};
  }

  std::unique_ptr<testing::TestNetwork> net_;
};

TEST_F(ProxyTraffic, ClusterIPSpreadsOverAllEndpointsTcpAndUdp) {
  syncAll(stateOf({service("web", "10.43.0.10", 80, {0, 1, 2}),
                   service("dns", "10.43.0.11", 53, {0, 1}, "udp")}));
  const auto tcp = fromClient("tcp", "10.43.0.10", 80, 30);
  ASSERT_EQ(tcp.size(), 30U);
  EXPECT_EQ(distinct(tcp), (std::set<std::string>{"a", "b", "c"}));
  const auto udp = fromClient("udp", "10.43.0.11", 53, 20);
  ASSERT_EQ(udp.size(), 20U);
  EXPECT_EQ(distinct(udp), (std::set<std::string>{"a", "b"}));
}

TEST_F(ProxyTraffic, NodePortFromOutsideTheCluster) {
  auto web = service("web", "10.43.0.10", 80, {1});
  web.nodePort = 30080;
  syncAll(stateOf({web}));
  // The node's address on the client's side; the client is outside 10.42.0.0/16.
  EXPECT_THAT(fromClient("tcp", "10.99.0.1", 30080, 3), Each(std::string("b")));
  // Not a NodePort: nothing listens on the node.
  EXPECT_THAT(fromClient("tcp", "10.99.0.1", 30081, 1), Each(std::string("REFUSED")));
}

TEST_F(ProxyTraffic, ServiceWithoutEndpointsRefusesAtOnce) {
  auto empty = service("empty", "10.43.0.13", 80, {});
  empty.nodePort = 30013;
  auto dns = service("dns", "10.43.0.14", 53, {}, "udp");
  syncAll(stateOf({empty, dns}));
  const auto start = std::chrono::steady_clock::now();
  EXPECT_THAT(fromClient("tcp", "10.43.0.13", 80, 2), Each(std::string("REFUSED")));
  EXPECT_THAT(fromClient("tcp", "10.99.0.1", 30013, 2), Each(std::string("REFUSED")));
  EXPECT_THAT(fromClient("udp", "10.43.0.14", 53, 2), Each(std::string("REFUSED")));
  // A timeout would take 2 s per attempt.
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
}

TEST_F(ProxyTraffic, ClientIPAffinityPinsAClient) {
  auto sticky = service("sticky", "10.43.0.15", 80, {0, 1, 2});
  sticky.affinityTimeoutSeconds = 60;
  syncAll(stateOf({sticky}));
  const auto lines = fromClient("tcp", "10.43.0.15", 80, 15);
  ASSERT_EQ(lines.size(), 15U);
  EXPECT_EQ(distinct(lines).size(), 1U) << ::testing::PrintToString(lines);
  EXPECT_NE(lines[0].size(), 0U);
  EXPECT_NE(lines[0], "TIMEOUT");
}

TEST_F(ProxyTraffic, HairpinAPodReachesItsOwnService) {
  syncAll(stateOf({service("web", "10.43.0.10", 80, {0, 1})}));
  // Some of these land on pod a itself: without the masquerade its own kernel drops them.
  const auto lines = net_->connect(net_->podNs(0), "tcp", "10.43.0.10", 80, 20);
  EXPECT_EQ(distinct(lines), (std::set<std::string>{"a", "b"}));
}

TEST_F(ProxyTraffic, IncrementalSyncsRemoveEndpointsAndServices) {
  const auto web = service("web", "10.43.0.10", 80, {0, 1, 2});
  const auto db = service("db", "10.43.0.20", 5432, {2});
  const auto first = stateOf({web, db});
  syncAll(first);
  ASSERT_EQ(distinct(fromClient("tcp", "10.43.0.10", 80, 30)).size(), 3U);

  // Endpoint c goes: no new connection reaches it; db is left alone.
  const auto second = stateOf({service("web", "10.43.0.10", 80, {0, 1}), db});
  ASSERT_THAT(nft::renderChanges(first, second, kOptions), ::testing::Not(HasSubstr("db")));
  syncChanges(first, second);
  EXPECT_EQ(distinct(fromClient("tcp", "10.43.0.10", 80, 30)), (std::set<std::string>{"a", "b"}));
  EXPECT_THAT(fromClient("tcp", "10.43.0.20", 5432, 2), Each(std::string("c")));

  // The last endpoints go: the Service refuses; then the Service goes.
  const auto third = stateOf({service("web", "10.43.0.10", 80, {}), db});
  syncChanges(second, third);
  EXPECT_THAT(fromClient("tcp", "10.43.0.10", 80, 2), Each(std::string("REFUSED")));
  const auto fourth = stateOf({db});
  syncChanges(third, fourth);
  // Not refused by the proxy any more: it leaves by the node's default route, unanswered.
  const auto gone = fromClient("tcp", "10.43.0.10", 80, 1);
  ASSERT_EQ(gone.size(), 1U);
  EXPECT_TRUE(gone[0] == "TIMEOUT" || gone[0].rfind("ERR", 0) == 0) << gone[0];
  // And it comes back with endpoints.
  syncChanges(fourth, first);
  EXPECT_EQ(distinct(fromClient("tcp", "10.43.0.10", 80, 30)).size(), 3U);
}

TEST_F(ProxyTraffic, RemovedUdpEndpointLosesItsConntrackFlows) {
  const auto both = stateOf({service("dns", "10.43.0.11", 53, {0, 1}, "udp")});
  syncAll(both);
  // One client socket (one source port): conntrack pins all its datagrams to one endpoint.
  constexpr int kSourcePort = 40053;
  const auto before = net_->connect(net_->clientNs(), "udp", "10.43.0.11", 53, 3, kSourcePort);
  ASSERT_EQ(before.size(), 3U);
  ASSERT_EQ(distinct(before).size(), 1U) << ::testing::PrintToString(before);
  const std::string pinned = before[0];
  ASSERT_TRUE(pinned == "a" || pinned == "b") << pinned;
  const int remaining = pinned == "a" ? 1 : 0;

  // The pinned endpoint leaves the Service (its pod still answers: only the stale entry
  // would take the client there).
  const auto after = stateOf({service("dns", "10.43.0.11", 53, {remaining}, "udp")});
  syncChanges(both, after);
  EXPECT_THAT(net_->connect(net_->clientNs(), "udp", "10.43.0.11", 53, 3, kSourcePort),
              Each(net_->podName(remaining)));
  EXPECT_THAT(net_->run(net_->nodeNs(), "cat /proc/net/nf_conntrack"),
              ::testing::Not(HasSubstr("src=" + net_->podIP(pinned == "a" ? 0 : 1))));
}

TEST_F(ProxyTraffic, UdpFlowsRefusedWithoutEndpointsReachNewOnes) {
  const auto none = stateOf({service("dns", "10.43.0.12", 53, {}, "udp")});
  syncAll(none);
  constexpr int kSourcePort = 40054;
  EXPECT_THAT(net_->connect(net_->clientNs(), "udp", "10.43.0.12", 53, 1, kSourcePort),
              Each(std::string("REFUSED")));
  const auto one = stateOf({service("dns", "10.43.0.12", 53, {2}, "udp")});
  syncChanges(none, one);
  EXPECT_THAT(net_->connect(net_->clientNs(), "udp", "10.43.0.12", 53, 2, kSourcePort),
              Each(std::string("c")));
}

TEST_F(ProxyTraffic, HostGatewayRoutesReachAnotherNodesPods) {
  // Pod a's namespace plays another node: InternalIP 10.42.1.2, pod CIDR 10.244.1.0/24 (one
  // "pod" address on its loopback, where its echo server answers too).
  net_->run(net_->podNs(0), "ip addr add 10.244.1.5/32 dev lo");
  const auto nodeNamed = [](const std::string& name, const std::string& cidr,
                            const std::string& ip) {
    api::core::v1::Node n;
    n.metadata.name = name;
    n.spec.podCIDR = cidr;
    n.spec.podCIDRs = {cidr};
    api::core::v1::NodeAddress address;
    address.type = "InternalIP";
    address.address = ip;
    n.status.addresses.push_back(address);
    return n;
  };
  const std::vector<api::core::v1::Node> nodes{nodeNamed("self", "10.244.0.0/24", "10.99.0.1"),
                                               nodeNamed("other", "10.244.1.0/24", net_->podIP(0))};
  // An admin's own route must survive kite's syncs.
  net_->run(net_->nodeNs(), "ip route add 10.244.9.0/24 via 10.99.0.2");
  net_->inNode([&] {
    auto table = makeNetlinkRouteTable();
    if (syncRoutes(*table, hostGatewayRoutes(nodes, "self")) != 0) throw std::runtime_error("sync");
  });
  EXPECT_THAT(net_->run(net_->nodeNs(), "ip route show proto 75"),
              HasSubstr("10.244.1.0/24 via " + net_->podIP(0)));
  EXPECT_THAT(net_->connect(net_->nodeNs(), "tcp", "10.244.1.5", kPodPort, 2),
              Each(std::string("a")));

  // The node leaves the cluster: its route goes, the admin's stays.
  net_->inNode([&] {
    auto table = makeNetlinkRouteTable();
    if (syncRoutes(*table, hostGatewayRoutes({nodes[0]}, "self")) != 0) {
      throw std::runtime_error("sync");
    }
  });
  const auto routes = net_->run(net_->nodeNs(), "ip route show");
  EXPECT_THAT(routes, ::testing::Not(HasSubstr("10.244.1.0")));
  EXPECT_THAT(routes, HasSubstr("10.244.9.0/24 via 10.99.0.2"));
}

TEST_F(ProxyTraffic, NodePortAnswersOnLoopbackForLocalClients) {
  auto web = service("web", "10.43.0.10", 80, {1});
  web.nodePort = 30080;
  syncAll(stateOf({web}));
  EXPECT_THAT(net_->connect(net_->nodeNs(), "tcp", "127.0.0.1", 30080, 3), Each(std::string("b")));
  EXPECT_THAT(net_->connect(net_->nodeNs(), "udp", "127.0.0.1", 30080, 1),
              Each(std::string("REFUSED")));  // TCP only
  EXPECT_EQ(net_->run(net_->nodeNs(), "cat /proc/sys/net/ipv4/conf/all/route_localnet"), "1\n");
}

TEST_F(ProxyTraffic, NodePortAddressesLimitWhereNodePortsAnswer) {
  auto web = service("web", "10.43.0.10", 80, {1});
  web.nodePort = 30080;
  syncAll(stateOf({web}), {.clusterCidr = "10.42.0.0/16", .nodePortAddresses = {"10.42.0.0/16"}});
  // On the node's pod-side address (10.42.3.1, seen from pod c) but not on 10.99.0.1.
  EXPECT_THAT(net_->connect(net_->podNs(2), "tcp", "10.42.3.1", 30080, 2), Each(std::string("b")));
  EXPECT_THAT(fromClient("tcp", "10.99.0.1", 30080, 1), Each(std::string("REFUSED")));
  EXPECT_THAT(net_->connect(net_->nodeNs(), "tcp", "127.0.0.1", 30080, 1),
              Each(std::string("REFUSED")));
}

TEST_F(ProxyTraffic, ExternalTrafficPolicyLocalKeepsTheClientAndUsesLocalEndpoints) {
  auto web = service("web", "10.43.0.10", 80, {0, 1});
  web.nodePort = 30080;
  web.externalPolicyLocal = true;
  web.endpoints[0].local = true;  // pod a runs on this node, b elsewhere
  auto none = service("none", "10.43.0.11", 80, {1});
  none.nodePort = 30081;
  none.externalPolicyLocal = true;
  syncAll(stateOf({web, none}));
  EXPECT_THAT(fromClient("tcp", "10.99.0.1", 30080, 12), Each(std::string("a")));
  // Not masqueraded: pod a answered the client's own address.
  EXPECT_THAT(net_->run(net_->nodeNs(), "cat /proc/net/nf_conntrack"),
              HasSubstr("src=10.42.1.2 dst=10.99.0.2 sport=8080"));
  // The ClusterIP still spreads over both.
  EXPECT_EQ(distinct(fromClient("tcp", "10.43.0.10", 80, 30)), (std::set<std::string>{"a", "b"}));
  // No local endpoint: dropped (a load balancer's health check steers clients away).
  EXPECT_THAT(fromClient("tcp", "10.99.0.1", 30081, 1), Each(std::string("TIMEOUT")));
}

TEST_F(ProxyTraffic, InternalTrafficPolicyLocalUsesLocalEndpoints) {
  auto web = service("web", "10.43.0.10", 80, {0, 1, 2});
  web.internalPolicyLocal = true;
  web.endpoints[2].local = true;
  syncAll(stateOf({web}));
  EXPECT_THAT(fromClient("tcp", "10.43.0.10", 80, 12), Each(std::string("c")));
}

TEST_F(ProxyTraffic, LoadBalancerSourceRangesAdmitOnlyTheirClients) {
  auto lb = service("lb", "10.43.0.10", 80, {0});
  lb.externalIPs = {"192.0.2.10"};
  lb.loadBalancerIPs = {"192.0.2.10"};
  lb.loadBalancerSourceRanges = {"10.99.0.0/24"};
  auto closed = service("closed", "10.43.0.11", 80, {1});
  closed.externalIPs = {"192.0.2.11"};
  closed.loadBalancerIPs = {"192.0.2.11"};
  closed.loadBalancerSourceRanges = {"10.98.0.0/24", "10.97.0.0/16"};
  syncAll(stateOf({lb, closed}));
  EXPECT_THAT(fromClient("tcp", "192.0.2.10", 80, 3), Each(std::string("a")));
  EXPECT_THAT(fromClient("tcp", "192.0.2.11", 80, 1), Each(std::string("TIMEOUT")));
  // The ClusterIP is not behind the ranges.
  EXPECT_THAT(fromClient("tcp", "10.43.0.11", 80, 2), Each(std::string("b")));
}

TEST_F(ProxyTraffic, HealthCheckNodePortReportsLocalEndpoints) {
  auto web = service("web", "10.43.0.10", 80, {0, 1});
  web.nodePort = 30080;
  web.externalPolicyLocal = true;
  web.healthCheckNodePort = 32001;
  web.endpoints[0].local = true;
  auto away = service("away", "10.43.0.11", 80, {1});
  away.nodePort = 30081;
  away.externalPolicyLocal = true;
  away.healthCheckNodePort = 32002;
  // The servers live in the node's namespace; a load balancer (the client) asks over HTTP.
  const std::string ask =
      "/usr/bin/python3 -c 'import sys, urllib.request, urllib.error\n"
      "try:\n"
      "    r = urllib.request.urlopen(\"http://10.99.0.1:\" + sys.argv[1] + \"/\", timeout=5)\n"
      "    print(r.status, r.read().decode())\n"
      "except urllib.error.HTTPError as e:\n"
      "    print(e.code, e.read().decode())\n' ";
  std::string local;
  std::string none;
  net_->inNode([&] {
    HealthCheckServers servers;
    servers.sync(stateOf({web, away}));
    const auto answer = [&](int port) {
      return net_->run(net_->clientNs(), ask + std::to_string(port));
    };
    const std::string a = answer(32001);
    const std::string b = answer(32002);
    const std::string expectedA =
        "200 {\"service\":{\"namespace\":\"default\",\"name\":\"web\"},\"localEndpoints\":1}\n";
    const std::string expectedB =
        "503 {\"service\":{\"namespace\":\"default\",\"name\":\"away\"},\"localEndpoints\":0}\n";
    if (a != expectedA) throw std::runtime_error("32001 answered: " + a);
    if (b != expectedB) throw std::runtime_error("32002 answered: " + b);
    // The last local endpoint goes: the port reports 503; a Service gone closes its port.
    auto gone = web;
    gone.endpoints[0].local = false;
    servers.sync(stateOf({gone}));
    if (answer(32001).rfind("503 ", 0) != 0) throw std::runtime_error("still 200");
    if (servers.listening() != 1) throw std::runtime_error("32002 still open");
  });
}

TEST_F(ProxyTraffic, CleanupLeavesNoTable) {
  syncAll(stateOf({service("web", "10.43.0.10", 80, {0})}));
  EXPECT_THAT(net_->run(net_->nodeNs(), "nft list tables"), HasSubstr("table inet kite-proxy"));
  net_->inNode([] { NftablesDataplane(kOptions).cleanup(); });
  EXPECT_THAT(net_->run(net_->nodeNs(), "nft list tables"),
              ::testing::Not(HasSubstr("kite-proxy")));
  // Twice is fine (nothing left to delete).
  net_->inNode([] { NftablesDataplane(kOptions).cleanup(); });
}

}  // namespace
}  // namespace kite::proxy
