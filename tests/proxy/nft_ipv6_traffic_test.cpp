// Real IPv6 traffic through the nftables dataplane: the proxy's table is applied inside the
// "node" namespace of a dual-stack TestNetwork (netns.h): pods (fd00:42:<i>::2, and
// 10.42.<i>.2 for the dual-stack case) serve TCP and UDP echo, a client outside the cluster
// (fd00:99::2; the node is fd00:99::1) connects. ULA addresses only, without DAD; root only
// (CI runs as root); the host's own ruleset and addresses are never touched, the namespaces go
// with the test.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "kite/proxy/nft_rules.h"
#include "kite/proxy/nftables_dataplane.h"
#include "netns.h"
#include "traffic.h"

namespace kite::proxy {
namespace {

using testing::distinct;
using ::testing::Each;
using testing::kPodPort;
using testing::stateOf;

// A function, not a static: its strings are made when a test runs, not at load time.
nft::RulesOptions rulesOptions() {
  return {.clusterCidr = "10.42.0.0/16", .clusterCidrIPv6 = "fd00:42::/48"};
}

class ProxyIPv6Traffic : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root for network namespaces";
    net_ = std::make_unique<testing::TestNetwork>(3, kPodPort, /*dualStack=*/true);
  }

  // Endpoints at the pods' addresses of the family of `ip`.
  ServicePortState service(const std::string& name, const std::string& ip, int port,
                           const std::vector<int>& pods, const std::string& proto = "tcp") const {
    return testing::service(*net_, name, ip, port, pods, proto);
  }

  void syncAll(const DesiredState& state) {
    net_->inNode([&] { NftablesDataplane(rulesOptions()).syncAll(state); });
  }
  void syncChanges(const DesiredState& applied, const DesiredState& next) {
    net_->inNode([&] { NftablesDataplane(rulesOptions()).syncChanges(applied, next); });
  }
  std::vector<std::string> fromClient(const std::string& proto, const std::string& ip, int port,
                                      int count, int sourcePort = 0) {
    return net_->connect(net_->clientNs(), proto, ip, port, count, sourcePort);
  }

  std::unique_ptr<testing::TestNetwork> net_;
};

TEST_F(ProxyIPv6Traffic, ClusterIPSpreadsOverAllEndpointsTcpAndUdp) {
  syncAll(stateOf({service("web", "fd00:43::10", 80, {0, 1, 2}),
                   service("dns", "fd00:43::11", 53, {0, 1}, "udp")}));
  const auto tcp = fromClient("tcp", "fd00:43::10", 80, 30);
  ASSERT_EQ(tcp.size(), 30U);
  EXPECT_EQ(distinct(tcp), (std::set<std::string>{"a", "b", "c"}));
  const auto udp = fromClient("udp", "fd00:43::11", 53, 20);
  ASSERT_EQ(udp.size(), 20U);
  EXPECT_EQ(distinct(udp), (std::set<std::string>{"a", "b"}));
  // From a pod inside the cluster too.
  const auto fromPod = net_->connect(net_->podNs(2), "tcp", "fd00:43::10", 80, 15);
  EXPECT_EQ(distinct(fromPod), (std::set<std::string>{"a", "b", "c"}));
}

TEST_F(ProxyIPv6Traffic, NodePortFromOutsideTheCluster) {
  auto web = service("web", "fd00:43::10", 80, {1});
  web.nodePort = 30080;
  syncAll(stateOf({web}));
  EXPECT_THAT(fromClient("tcp", "fd00:99::1", 30080, 3), Each(std::string("b")));
  EXPECT_THAT(fromClient("udp", "fd00:99::1", 30080, 1), Each(std::string("REFUSED")));
  // Not a NodePort: nothing listens on the node.
  EXPECT_THAT(fromClient("tcp", "fd00:99::1", 30081, 1), Each(std::string("REFUSED")));
  // An IPv6-only Service has no IPv4 NodePort.
  EXPECT_THAT(fromClient("tcp", "10.99.0.1", 30080, 1), Each(std::string("REFUSED")));
}

TEST_F(ProxyIPv6Traffic, LoadBalancerIPWithSourceRanges) {
  // The client routes everything through the node, so the node sees its packets to the
  // load-balancer IP as a real load balancer would hand them over.
  auto lb = service("lb", "fd00:43::20", 80, {0, 1});
  lb.externalIPs = {"fd00:98::20"};
  lb.loadBalancerIPs = {"fd00:98::20"};
  lb.loadBalancerSourceRanges = {"fd00:99::/64"};
  syncAll(stateOf({lb}));
  const auto allowed = fromClient("tcp", "fd00:98::20", 80, 10);
  EXPECT_EQ(distinct(allowed), (std::set<std::string>{"a", "b"}));

  auto closed = lb;
  closed.loadBalancerSourceRanges = {"fd00:97::/64"};
  syncChanges(stateOf({lb}), stateOf({closed}));
  EXPECT_THAT(fromClient("tcp", "fd00:98::20", 80, 1), Each(std::string("TIMEOUT")));
  // The ClusterIP is not behind the source ranges.
  EXPECT_EQ(distinct(fromClient("tcp", "fd00:43::20", 80, 10)), (std::set<std::string>{"a", "b"}));
}

TEST_F(ProxyIPv6Traffic, ServiceWithoutEndpointsRefusesAtOnce) {
  auto empty = service("empty", "fd00:43::13", 80, {});
  empty.nodePort = 30013;
  auto dns = service("dns", "fd00:43::14", 53, {}, "udp");
  syncAll(stateOf({empty, dns}));
  const auto start = std::chrono::steady_clock::now();
  EXPECT_THAT(fromClient("tcp", "fd00:43::13", 80, 2), Each(std::string("REFUSED")));
  EXPECT_THAT(fromClient("tcp", "fd00:99::1", 30013, 2), Each(std::string("REFUSED")));
  EXPECT_THAT(fromClient("udp", "fd00:43::14", 53, 2), Each(std::string("REFUSED")));
  // A timeout would take 2 s per attempt.
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
}

TEST_F(ProxyIPv6Traffic, DualStackPortAnswersOnBothFamilies) {
  auto v4 = service("web", "10.43.0.10", 80, {0});
  v4.nodePort = 30080;
  auto v6 = service("web", "fd00:43::10", 80, {1});
  v6.nodePort = 30080;
  syncAll(stateOf({v4, v6}));
  EXPECT_THAT(fromClient("tcp", "10.43.0.10", 80, 3), Each(std::string("a")));
  EXPECT_THAT(fromClient("tcp", "fd00:43::10", 80, 3), Each(std::string("b")));
  EXPECT_THAT(fromClient("tcp", "10.99.0.1", 30080, 2), Each(std::string("a")));
  EXPECT_THAT(fromClient("tcp", "fd00:99::1", 30080, 2), Each(std::string("b")));
}

TEST_F(ProxyIPv6Traffic, IncrementalSyncsAndStaleUdpFlows) {
  auto web = service("web", "fd00:43::10", 80, {0, 1});
  auto dns = service("dns", "fd00:43::11", 53, {0}, "udp");
  const auto first = stateOf({web, dns});
  syncAll(first);
  // A UDP client keeps one source port: its conntrack entry pins it to pod a.
  EXPECT_THAT(fromClient("udp", "fd00:43::11", 53, 2, 40053), Each(std::string("a")));

  auto webMoved = service("web", "fd00:43::10", 80, {2});
  auto dnsMoved = service("dns", "fd00:43::11", 53, {1}, "udp");
  const auto second = stateOf({webMoved, dnsMoved});
  syncChanges(first, second);
  EXPECT_THAT(fromClient("tcp", "fd00:43::10", 80, 5), Each(std::string("c")));
  // The stale entry was deleted: the same client now reaches pod b.
  EXPECT_THAT(fromClient("udp", "fd00:43::11", 53, 2, 40053), Each(std::string("b")));

  // The last endpoint goes: refused at once.
  const auto third = stateOf({service("web", "fd00:43::10", 80, {}), dnsMoved});
  syncChanges(second, third);
  EXPECT_THAT(fromClient("tcp", "fd00:43::10", 80, 1), Each(std::string("REFUSED")));
}

TEST_F(ProxyIPv6Traffic, ClientIPAffinityPinsAClient) {
  auto sticky = service("sticky", "fd00:43::15", 80, {0, 1, 2});
  sticky.affinityTimeoutSeconds = 60;
  syncAll(stateOf({sticky}));
  const auto lines = fromClient("tcp", "fd00:43::15", 80, 15);
  ASSERT_EQ(lines.size(), 15U);
  EXPECT_EQ(distinct(lines).size(), 1U) << ::testing::PrintToString(lines);
  EXPECT_EQ(lines[0].size(), 1U) << lines[0];
}

TEST_F(ProxyIPv6Traffic, HairpinAPodReachesItsOwnService) {
  syncAll(stateOf({service("self", "fd00:43::16", 80, {0})}));
  EXPECT_THAT(net_->connect(net_->podNs(0), "tcp", "fd00:43::16", 80, 3), Each(std::string("a")));
}

TEST_F(ProxyIPv6Traffic, CleanupRemovesTheTable) {
  syncAll(stateOf({service("web", "fd00:43::10", 80, {0})}));
  std::string listed;
  net_->inNode([&] {
    NftablesDataplane dataplane(rulesOptions());
    if (dataplane.listTable().find("service-ips6") == std::string::npos) {
      throw std::runtime_error("no service-ips6 in the table");
    }
    dataplane.cleanup();
    if (!dataplane.listTable().empty()) throw std::runtime_error("the table is still there");
  });
  // Nothing translates the ClusterIP any more: it leaves through the default route, unanswered.
  EXPECT_THAT(fromClient("tcp", "fd00:43::10", 80, 1), Each(std::string("TIMEOUT")));
}

}  // namespace
}  // namespace kite::proxy
