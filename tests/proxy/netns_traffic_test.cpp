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

#include "kite/proxy/nft_rules.h"
#include "kite/proxy/nftables_dataplane.h"
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

  void syncAll(const DesiredState& state) {
    net_->inNode([&] { NftablesDataplane(kOptions).syncAll(state); });
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
