// Real IPv6 and dual-stack traffic through the userspace dataplane: IPv6 Service addresses on
// link kite-svc0 (nodad), IPv6 listeners relaying TCP and UDP to IPv6 endpoints, UDP answers
// from the Service address, NodePorts per family, affinity, source ranges, incremental syncs
// and cleanup. The network is a dual-stack TestNetwork (netns.h: ULA addresses only); the
// dataplane is made while the test thread is inside its "node" namespace, so its event loop,
// listeners and link live there. Root only (CI runs as root); the host is never touched.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "kite/proxy/userspace_dataplane.h"
#include "netns.h"
#include "traffic.h"

namespace kite::proxy {
namespace {

using testing::ClientOptions;
using testing::counts;
using ::testing::Each;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::InNamespace;
using testing::kPodPort;
using ::testing::Not;
using testing::stateOf;

class UserspaceIPv6Traffic : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root for network namespaces";
    net_ = std::make_unique<testing::TestNetwork>(3, kPodPort, /*dualStack=*/true);
  }

  UserspaceDataplane& dataplane(UserspaceOptions options = {}) {
    if (!dataplane_) {
      const InNamespace inside(net_->nodeNs());
      dataplane_ = std::make_unique<UserspaceDataplane>(std::move(options));
    }
    return *dataplane_;
  }

  // Endpoints at the pods' addresses of the family of `ip`.
  ServicePortState service(const std::string& name, const std::string& ip, int port,
                           const std::vector<int>& pods, const std::string& proto = "tcp") const {
    return testing::service(*net_, name, ip, port, pods, proto);
  }

  std::vector<std::string> fromClient(const std::string& proto, const std::string& ip, int port,
                                      int count, const ClientOptions& options = {}) const {
    return net_->connect(net_->clientNs(), proto, ip, port, count, options);
  }

  std::string inNode(const std::string& command) const {
    return net_->run(net_->nodeNs(), command);
  }

  // The line `ip -6 addr` prints for `address` on kite-svc0, "" when it is not there.
  std::string linkAddress(const std::string& address) const {
    std::istringstream lines(inNode("ip -6 addr show dev kite-svc0 2>/dev/null"));
    for (std::string line; std::getline(lines, line);) {
      if (line.find(" " + address + "/") != std::string::npos) return line;
    }
    return "";
  }

  // Declared first: the dataplane goes before the namespaces it lives in.
  std::unique_ptr<testing::TestNetwork> net_;
  std::unique_ptr<UserspaceDataplane> dataplane_;
};

TEST_F(UserspaceIPv6Traffic, ClusterIPTcpIsSpreadOverTheEndpoints) {
  dataplane().syncAll(stateOf({service("web", "fd00:43::10", 80, {0, 1})}));
  // On the link as a host address, without duplicate address detection (usable at once).
  const std::string line = linkAddress("fd00:43::10");
  EXPECT_THAT(line, HasSubstr("fd00:43::10/128"));
  EXPECT_THAT(line, HasSubstr("nodad"));
  EXPECT_THAT(line, Not(HasSubstr("tentative")));
  // Round robin over both endpoints, reached at their IPv6 addresses.
  EXPECT_EQ(counts(fromClient("tcp", "fd00:43::10", 80, 10)),
            (std::map<std::string, int>{{"a", 5}, {"b", 5}}));
  // From a pod inside the cluster too.
  EXPECT_EQ(testing::distinct(net_->connect(net_->podNs(2), "tcp", "fd00:43::10", 80, 6)),
            (std::set<std::string>{"a", "b"}));
}

TEST_F(UserspaceIPv6Traffic, UdpAnswersComeFromTheServiceAddress) {
  dataplane().syncAll(stateOf({service("dns", "fd00:43::11", 53, {0, 1}, "udp")}));
  // Unconnected sockets see where each answer came from: the Service address and port, not
  // the node's address towards the client.
  const auto lines = fromClient("udp-sendto", "fd00:43::11", 53, 6, {.showPeer = true});
  ASSERT_EQ(lines.size(), 6U);
  EXPECT_EQ(testing::pods(lines), (std::set<std::string>{"a", "b"}));
  EXPECT_EQ(testing::peers(lines), (std::set<std::string>{"fd00:43::11:53"}));
  // A connected socket takes only answers from the address it connected to.
  EXPECT_EQ(testing::distinct(fromClient("udp", "fd00:43::11", 53, 4)),
            (std::set<std::string>{"a", "b"}));
}

TEST_F(UserspaceIPv6Traffic, DualStackServiceAnswersOnBothFamilies) {
  auto v4 = service("web", "10.43.0.10", 80, {0});
  v4.nodePort = 30080;
  auto v6 = service("web", "fd00:43::10", 80, {1});
  v6.nodePort = 30080;
  auto dns4 = service("dns", "10.43.0.11", 53, {0}, "udp");
  auto dns6 = service("dns", "fd00:43::11", 53, {1}, "udp");
  ASSERT_TRUE(v6.key().ends_with("/ipv6"));
  dataplane().syncAll(stateOf({v4, v6, dns4, dns6}));
  EXPECT_THAT(fromClient("tcp", "10.43.0.10", 80, 3), Each(std::string("a")));
  EXPECT_THAT(fromClient("tcp", "fd00:43::10", 80, 3), Each(std::string("b")));
  EXPECT_THAT(fromClient("udp", "10.43.0.11", 53, 2), Each(std::string("a")));
  EXPECT_THAT(fromClient("udp", "fd00:43::11", 53, 2), Each(std::string("b")));
  // One NodePort per family, both on their wildcard address.
  EXPECT_THAT(fromClient("tcp", "10.99.0.1", 30080, 2), Each(std::string("a")));
  EXPECT_THAT(fromClient("tcp", "fd00:99::1", 30080, 2), Each(std::string("b")));
}

TEST_F(UserspaceIPv6Traffic, NodePortAddressesApplyPerFamily) {
  // An IPv6 range only: IPv6 NodePorts on the node's addresses in it, IPv4 ones everywhere.
  dataplane({.nodePortAddresses = {"fd00:99::/64"}});
  auto v4 = service("web", "10.43.0.10", 80, {0});
  v4.nodePort = 30080;
  auto v6 = service("web", "fd00:43::10", 80, {1});
  v6.nodePort = 30080;
  dataplane().syncAll(stateOf({v4, v6}));
  EXPECT_THAT(fromClient("tcp", "fd00:99::1", 30080, 2), Each(std::string("b")));
  EXPECT_THAT(fromClient("tcp", "10.99.0.1", 30080, 2), Each(std::string("a")));
  // The node's other IPv6 addresses are outside the range: nothing listens there.
  EXPECT_THAT(net_->connect(net_->nodeNs(), "tcp", "::1", 30080, 1), ElementsAre("REFUSED"));
  EXPECT_THAT(net_->connect(net_->podNs(0), "tcp", "fd00:42:1::1", 30080, 1),
              ElementsAre("REFUSED"));
}

TEST_F(UserspaceIPv6Traffic, ServiceWithoutEndpointsRefusesAtOnce) {
  auto empty = service("empty", "fd00:43::13", 80, {});
  empty.nodePort = 30013;
  dataplane().syncAll(stateOf({empty, service("dns", "fd00:43::14", 53, {}, "udp")}));
  const auto start = std::chrono::steady_clock::now();
  EXPECT_THAT(fromClient("tcp", "fd00:43::13", 80, 2), Each(std::string("REFUSED")));
  EXPECT_THAT(fromClient("tcp", "fd00:99::1", 30013, 2), Each(std::string("REFUSED")));
  EXPECT_THAT(fromClient("udp", "fd00:43::14", 53, 2), Each(std::string("REFUSED")));
  // A timeout would take 2 s per attempt.
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
}

TEST_F(UserspaceIPv6Traffic, ClientIPAffinityPinsAnIPv6Client) {
  auto sticky = service("sticky", "fd00:43::15", 80, {0, 1, 2});
  sticky.affinityTimeoutSeconds = 60;
  dataplane().syncAll(stateOf({sticky}));
  const auto lines = fromClient("tcp", "fd00:43::15", 80, 12);
  ASSERT_EQ(lines.size(), 12U);
  EXPECT_EQ(testing::distinct(lines).size(), 1U) << ::testing::PrintToString(lines);
  EXPECT_EQ(lines[0].size(), 1U) << lines[0];
}

TEST_F(UserspaceIPv6Traffic, ExternalAndLoadBalancerIPsWithSourceRanges) {
  auto lb = service("lb", "fd00:43::20", 80, {0, 1});
  lb.externalIPs = {"fd00:98::20", "fd00:98::21"};
  lb.loadBalancerIPs = {"fd00:98::20"};
  lb.loadBalancerSourceRanges = {"fd00:99::/64"};
  dataplane().syncAll(stateOf({lb}));
  EXPECT_EQ(testing::distinct(fromClient("tcp", "fd00:98::20", 80, 4)),
            (std::set<std::string>{"a", "b"}));
  EXPECT_EQ(testing::distinct(fromClient("tcp", "fd00:98::21", 80, 4)),
            (std::set<std::string>{"a", "b"}));

  auto closed = lb;
  closed.loadBalancerSourceRanges = {"fd00:97::/64", "10.99.0.0/24"};
  dataplane().syncChanges(stateOf({lb}), stateOf({closed}));
  // Not from the ranges: accepted and reset at once, never relayed.
  EXPECT_THAT(fromClient("tcp", "fd00:98::20", 80, 1), ElementsAre("ERR 104"));
  // The externalIP and the ClusterIP are not behind the ranges.
  EXPECT_EQ(testing::distinct(fromClient("tcp", "fd00:98::21", 80, 4)),
            (std::set<std::string>{"a", "b"}));
  EXPECT_EQ(testing::distinct(fromClient("tcp", "fd00:43::20", 80, 4)),
            (std::set<std::string>{"a", "b"}));
}

TEST_F(UserspaceIPv6Traffic, IncrementalSyncsMoveTcpAndUdpToNewEndpoints) {
  const auto web = service("web", "fd00:43::10", 80, {0, 1});
  const auto dns = service("dns", "fd00:43::11", 53, {0}, "udp");
  const auto first = stateOf({web, dns});
  dataplane().syncAll(first);
  // One client source port: one UDP flow, pinned to pod a.
  const ClientOptions pinned{.sourcePort = 40053};
  EXPECT_THAT(fromClient("udp", "fd00:43::11", 53, 2, pinned), Each(std::string("a")));

  const auto second = stateOf(
      {service("web", "fd00:43::10", 80, {2}), service("dns", "fd00:43::11", 53, {1}, "udp")});
  dataplane().syncChanges(first, second);
  EXPECT_THAT(fromClient("tcp", "fd00:43::10", 80, 4), Each(std::string("c")));
  // The flow ended with its endpoint: the same client now reaches pod b.
  EXPECT_THAT(fromClient("udp", "fd00:43::11", 53, 2, pinned), Each(std::string("b")));

  // The last endpoint goes: refused at once, the address stays for the ClusterIP.
  const auto third = stateOf(
      {service("web", "fd00:43::10", 80, {}), service("dns", "fd00:43::11", 53, {1}, "udp")});
  dataplane().syncChanges(second, third);
  EXPECT_THAT(fromClient("tcp", "fd00:43::10", 80, 1), ElementsAre("REFUSED"));
  EXPECT_NE(linkAddress("fd00:43::10"), "");
}

TEST_F(UserspaceIPv6Traffic, CleanupLeavesNoAddressOnTheLink) {
  const auto web6 = service("web", "fd00:43::10", 80, {0});
  const auto db6 = service("db", "fd00:43::20", 5432, {1});
  const auto web4 = service("web", "10.43.0.10", 80, {0});
  dataplane().syncAll(stateOf({web6, db6, web4}));
  EXPECT_NE(linkAddress("fd00:43::20"), "");
  // A Service port that goes takes its IPv6 address with it.
  dataplane().syncChanges(stateOf({web6, db6, web4}), stateOf({web6, web4}));
  EXPECT_EQ(linkAddress("fd00:43::20"), "");
  EXPECT_NE(linkAddress("fd00:43::10"), "");

  // A restart: the new run takes the link over and drops the IPv6 address no Service has.
  dataplane_.reset();
  dataplane().syncAll(stateOf({web4}));
  EXPECT_EQ(linkAddress("fd00:43::10"), "");
  EXPECT_THAT(fromClient("tcp", "10.43.0.10", 80, 1), ElementsAre("a"));
  dataplane().syncAll(stateOf({web6, web4}));
  EXPECT_THAT(fromClient("tcp", "fd00:43::10", 80, 2), Each(std::string("a")));

  dataplane().cleanup();
  EXPECT_EQ(inNode("ip link show kite-svc0 2>/dev/null"), "");
  EXPECT_THAT(inNode("ip -6 addr"), Not(HasSubstr("fd00:43:")));
  // Nothing answers the ClusterIP any more: it leaves through the default route, unanswered.
  EXPECT_THAT(fromClient("tcp", "fd00:43::10", 80, 1, {.timeout = 0.3}), ElementsAre("TIMEOUT"));
}

}  // namespace
}  // namespace kite::proxy
