// Real IPv6 (and dual-stack) traffic through the eBPF dataplane: connect6/sendmsg6/recvmsg6/
// getpeername6 translating IPv6 Services, internalTrafficPolicy Local for both families, and
// cgroup/sock_release removing the reverse translations of closed sockets.
//
// The network is a dual-stack TestNetwork (netns.h): a "node" namespace routing to pods a, b,
// c, each with 10.42.<i>.2 and fd00:42:<i>::2 (ULA, DAD off so the addresses are usable at
// once) and a dual-stack TCP+UDP echo server answering its name. The node has no default
// route, so a connect the programs leave alone to an address of no Service fails at once. The
// clients run in the node namespace, as the node's own sockets, and inside a cgroup v2 child
// the programs attach to (never the root), so the host's sockets are never rewritten. Root
// only (CI runs as root).

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "kite/ebpf/maglev.h"
#include "kite/ebpf/sock_lb.h"
#include "kite/proxy/ebpf_dataplane.h"
#include "netns.h"
#include "scratch.h"
#include "traffic.h"

namespace kite::proxy {
namespace {

using ::testing::Each;
using testing::kPodPort;
using testing::peers;
using testing::pods;
using ::testing::StartsWith;
using testing::stateOf;

class EbpfDualStackTraffic : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root for BPF and network namespaces";
    net_ = std::make_unique<testing::TestNetwork>(
        3, kPodPort, testing::NetworkOptions{.dualStack = true, .defaultRoute = false});
    cgroup_ = std::make_unique<ebpf::testing::TestCgroup>();
    pins_ = std::make_unique<ebpf::testing::TestPinDir>();
    dataplane_ = std::make_unique<EbpfDataplane>(EbpfOptions{
        .pinDir = pins_->path(), .cgroup = cgroup_->path(), .northSouth = std::nullopt});
  }

  void TearDown() override {
    if (dataplane_) dataplane_->cleanup();
    dataplane_.reset();
  }

  // A Service port of the pods' IPv6 (or, for an IPv4 ClusterIP, IPv4) addresses; `local`
  // lists the pods on this node.
  ServicePortState service(const std::string& name, const std::string& clusterIP, int port,
                           const std::vector<int>& pods, const std::string& proto = "tcp",
                           const std::vector<int>& local = {}) const {
    auto p = testing::service(*net_, name, clusterIP, port, pods, proto);
    const bool ipv6 = clusterIP.find(':') != std::string::npos;
    for (const int i : local) {
      const std::string ip = ipv6 ? net_->podIPv6(i) : net_->podIP(i);
      for (auto& e : p.endpoints) e.local = e.local || e.ip == ip;
    }
    return p;
  }

  // `count` attempts from a namespace (the node's unless given) by a process inside the test's
  // cgroup; each answer with the peer the client's socket saw ("<pod> <ip>:<port>"). mode:
  // tcp, udp (connected), udp-reconnect or udp-sendto (TestNetwork::connect).
  std::vector<std::string> fromNode(const std::string& mode, const std::string& ip, int port,
                                    int count, double timeout = 2.0,
                                    const std::string& ns = "") const {
    const testing::ClientOptions options{
        .timeout = timeout, .showPeer = true, .wrap = [this](const std::string& c) {
          return cgroup_->wrap(c);
        }};
    return net_->connect(ns.empty() ? net_->nodeNs() : ns, mode, ip, port, count, options);
  }

  // Reverse translations in the pinned map now (a second loader on the same pins looks).
  std::size_t revnatElements() const {
    return ebpf::SockLb({.pinDir = pins_->path(), .cgroup = cgroup_->path()})
        .revnat()
        .keys()
        .size();
  }

  std::unique_ptr<testing::TestNetwork> net_;
  std::unique_ptr<ebpf::testing::TestCgroup> cgroup_;
  std::unique_ptr<ebpf::testing::TestPinDir> pins_;
  std::unique_ptr<EbpfDataplane> dataplane_;
};

TEST_F(EbpfDualStackTraffic, Ipv6TcpSpreadsOverEndpointsAndThePeerIsTheService) {
  dataplane_->syncAll(stateOf({service("web", "fd00:43::10", 80, {0, 1, 2})}));
  const auto lines = fromNode("tcp", "fd00:43::10", 80, 30);
  ASSERT_EQ(lines.size(), 30U);
  EXPECT_EQ(pods(lines), (std::set<std::string>{"a", "b", "c"}));
  EXPECT_EQ(peers(lines), (std::set<std::string>{"fd00:43::10:80"}));
}

TEST_F(EbpfDualStackTraffic, Ipv6UdpRepliesComeFromTheService) {
  dataplane_->syncAll(stateOf({service("dns", "fd00:43::53", 53, {0, 1, 2}, "udp")}));
  const auto connected = fromNode("udp", "fd00:43::53", 53, 20);
  ASSERT_EQ(connected.size(), 20U);
  EXPECT_EQ(pods(connected), (std::set<std::string>{"a", "b", "c"}));
  EXPECT_EQ(peers(connected), (std::set<std::string>{"fd00:43::53:53"}));
  // Unconnected: sendmsg6 translates each datagram, recvmsg6 shows the reply from the Service.
  const auto sent = fromNode("udp-sendto", "fd00:43::53", 53, 20);
  ASSERT_EQ(sent.size(), 20U);
  EXPECT_EQ(pods(sent), (std::set<std::string>{"a", "b", "c"}));
  EXPECT_EQ(peers(sent), (std::set<std::string>{"fd00:43::53:53"}));
}

TEST_F(EbpfDualStackTraffic, Ipv6ExternalIPsAndBothFamiliesSideBySide) {
  auto v6 = service("web6", "fd00:43::10", 80, {0, 1});
  v6.externalIPs = {"fd00:99::7"};
  const auto v4 = service("web4", "10.43.0.10", 80, {2});
  dataplane_->syncAll(stateOf({v6, v4}));
  EXPECT_EQ(pods(fromNode("tcp", "fd00:99::7", 80, 20)), (std::set<std::string>{"a", "b"}));
  EXPECT_EQ(pods(fromNode("tcp", "10.43.0.10", 80, 5)), (std::set<std::string>{"c"}));
  // The IPv4 Service's address with the IPv6 one's port is no Service: left alone (no route).
  EXPECT_THAT(fromNode("tcp", "10.43.0.10", 81, 1, 0.5), Each(StartsWith("ERR")));
}

TEST_F(EbpfDualStackTraffic, Ipv6NoEndpointsIsRefusedAtOnce) {
  dataplane_->syncAll(stateOf({service("empty", "fd00:43::20", 80, {})}));
  const auto start = std::chrono::steady_clock::now();
  EXPECT_THAT(fromNode("tcp", "fd00:43::20", 80, 3, 5.0), Each(std::string("REFUSED")));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(4));
  // Unconnected UDP: the send itself fails with the same errno.
  dataplane_->syncAll(stateOf({service("empty", "fd00:43::20", 53, {}, "udp")}));
  EXPECT_THAT(fromNode("udp-sendto", "fd00:43::20", 53, 2, 5.0), Each(std::string("REFUSED")));
}

TEST_F(EbpfDualStackTraffic, Ipv6AffinityPinsAClientAndIncrementalSyncsApply) {
  auto sticky = service("sticky", "fd00:43::30", 80, {0, 1, 2});
  sticky.affinityTimeoutSeconds = 600;
  dataplane_->syncAll(stateOf({sticky}));
  const auto first = fromNode("tcp", "fd00:43::30", 80, 10);
  ASSERT_EQ(first.size(), 10U);
  ASSERT_EQ(pods(first).size(), 1U) << first[0];
  const std::string pinned = *pods(first).begin();

  // The pinned endpoint goes: the client moves to another and sticks there.
  auto without = sticky;
  without.endpoints.erase(std::remove_if(without.endpoints.begin(), without.endpoints.end(),
                                         [&](const EndpointTarget& e) {
                                           return e.ip == net_->podIPv6(pinned[0] - 'a');
                                         }),
                          without.endpoints.end());
  dataplane_->syncChanges(stateOf({sticky}), stateOf({without}));
  const auto after = fromNode("tcp", "fd00:43::30", 80, 10);
  ASSERT_EQ(pods(after).size(), 1U);
  EXPECT_NE(*pods(after).begin(), pinned);

  // The Service goes: its address is no Service any more (no route to it here).
  dataplane_->syncChanges(stateOf({without}), stateOf({}));
  EXPECT_THAT(fromNode("tcp", "fd00:43::30", 80, 1, 0.5), Each(StartsWith("ERR")));
}

// internalTrafficPolicy Local: connects go to this node's endpoints only; with endpoints but
// none here the nftables backend drops the traffic, the socket's connect fails at once with
// EHOSTUNREACH (113) instead of waiting for a timeout. Both families.
TEST_F(EbpfDualStackTraffic, InternalTrafficPolicyLocalUsesOnlyLocalEndpoints) {
  for (const std::string ip : {"fd00:43::40", "10.43.0.40"}) {
    SCOPED_TRACE(ip);
    auto local = service("local", ip, 80, {0, 1, 2}, "tcp", {1});
    local.internalPolicyLocal = true;
    dataplane_->syncAll(stateOf({local}));
    EXPECT_EQ(pods(fromNode("tcp", ip, 80, 15)), (std::set<std::string>{"b"}));

    auto noneHere = service("local", ip, 80, {0, 2}, "tcp", {});
    noneHere.internalPolicyLocal = true;
    dataplane_->syncChanges(stateOf({local}), stateOf({noneHere}));
    const auto start = std::chrono::steady_clock::now();
    EXPECT_THAT(fromNode("tcp", ip, 80, 3, 5.0), Each(std::string("ERR 113")));
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(4));

    // Back to Cluster: every endpoint again.
    auto cluster = noneHere;
    cluster.internalPolicyLocal = false;
    dataplane_->syncChanges(stateOf({noneHere}), stateOf({cluster}));
    EXPECT_EQ(pods(fromNode("tcp", ip, 80, 20)), (std::set<std::string>{"a", "c"}));
    dataplane_->syncAll(stateOf({}));
  }
}

// cgroup/sock_release: the reverse translations of a closed socket go with it, connected or
// not (without the program every socket would leave its elements until LRU eviction).
TEST_F(EbpfDualStackTraffic, ClosedSocketsLeaveNoReverseTranslation) {
  dataplane_->syncAll(stateOf({service("web6", "fd00:43::10", 80, {0, 1, 2}),
                               service("web4", "10.43.0.10", 80, {0, 1, 2}),
                               service("dns6", "fd00:43::53", 53, {0, 1}, "udp"),
                               service("dns4", "10.43.0.53", 53, {0, 1}, "udp")}));
  EXPECT_EQ(fromNode("tcp", "fd00:43::10", 80, 10).size(), 10U);
  EXPECT_EQ(fromNode("tcp", "10.43.0.10", 80, 10).size(), 10U);
  EXPECT_EQ(fromNode("udp", "fd00:43::53", 53, 10).size(), 10U);
  // Unconnected: no peer to find the element by, the socket keeps its keys (kite_sock_revnat).
  EXPECT_EQ(fromNode("udp-sendto", "fd00:43::53", 53, 10).size(), 10U);
  EXPECT_EQ(revnatElements(), 0U);
  // Connected, then connected elsewhere: the first peer's element is kept with the socket at
  // the second connect (a connect keeps no key otherwise; the peer names it at release).
  for (const char* ip : {"fd00:43::53", "10.43.0.53"}) {
    const auto lines = fromNode("udp-reconnect", ip, 53, 10);
    EXPECT_EQ(lines.size(), 10U);
    EXPECT_THAT(pods(lines), ::testing::IsSubsetOf({"a", "b"})) << ip;
  }
  EXPECT_EQ(revnatElements(), 0U);
}

// NodePorts on the node addresses given in EbpfOptions are translated at connect, for the
// node's sockets and its pods' alike, in both families; without them such connects are left
// alone (to the nftables table, absent here: nothing listens, refused).
TEST_F(EbpfDualStackTraffic, NodePortsOfTheGivenNodeAddressesAreTranslatedAtConnect) {
  auto v4 = service("np", "10.43.0.60", 80, {0, 1});
  v4.nodePort = 30080;
  auto v6 = service("np", "fd00:43::60", 80, {1, 2});
  v6.nodePort = 30080;
  DesiredState both;
  both.services.emplace("np/ipv4", v4);
  both.services.emplace("np/ipv6", v6);
  DesiredState onlyV6;
  onlyV6.services.emplace("np/ipv6", v6);

  dataplane_->syncAll(both);
  EXPECT_THAT(fromNode("tcp", "10.42.1.1", 30080, 1), Each(std::string("REFUSED")));

  dataplane_.reset();  // the next one takes the pins over
  dataplane_ =
      std::make_unique<EbpfDataplane>(EbpfOptions{.pinDir = pins_->path(),
                                                  .cgroup = cgroup_->path(),
                                                  .northSouth = std::nullopt,
                                                  .nodeAddresses = {"10.42.1.1", "fd00:42:1::1"}});
  dataplane_->syncAll(both);
  const auto v4Lines = fromNode("tcp", "10.42.1.1", 30080, 20);
  EXPECT_EQ(pods(v4Lines), (std::set<std::string>{"a", "b"}));
  EXPECT_EQ(peers(v4Lines), (std::set<std::string>{"10.42.1.1:30080"}));
  EXPECT_EQ(pods(fromNode("tcp", "fd00:42:1::1", 30080, 20)), (std::set<std::string>{"b", "c"}));
  // A socket in pod c's namespace reaching the node's address.
  EXPECT_EQ(pods(fromNode("tcp", "10.42.1.1", 30080, 20, 2.0, net_->podNs(2))),
            (std::set<std::string>{"a", "b"}));
  // Another node address or port is left alone.
  EXPECT_THAT(fromNode("tcp", "10.42.2.1", 30080, 1), Each(std::string("REFUSED")));
  EXPECT_THAT(fromNode("tcp", "10.42.1.1", 30081, 1), Each(std::string("REFUSED")));

  // The NodePort goes with its Service port.
  dataplane_->syncChanges(both, onlyV6);
  EXPECT_THAT(fromNode("tcp", "10.42.1.1", 30080, 1), Each(std::string("REFUSED")));
  EXPECT_EQ(pods(fromNode("tcp", "fd00:42:1::1", 30080, 20)), (std::set<std::string>{"b", "c"}));
}

// EbpfOptions::maglev: the endpoint is chosen by Maglev hashing of the client's network
// namespace. The test predicts every client's endpoint from its namespace cookie
// (SO_NETNS_COOKIE) and the table of kite/ebpf/maglev.h, before and after an endpoint goes.
TEST_F(EbpfDualStackTraffic, MaglevChoosesTheClientsEndpointByConsistentHashing) {
  dataplane_.reset();  // the next one takes the pins over
  dataplane_ = std::make_unique<EbpfDataplane>(EbpfOptions{.pinDir = pins_->path(),
                                                           .cgroup = cgroup_->path(),
                                                           .northSouth = std::nullopt,
                                                           .maglev = true});
  const std::vector<std::string> clients = {net_->nodeNs(), net_->podNs(0), net_->podNs(1),
                                            net_->podNs(2)};
  const auto predicted = [&](const ServicePortState& port, const std::string& ns) {
    std::vector<std::string> names;
    for (const auto& e : port.endpoints) names.push_back(e.ip + ":" + std::to_string(e.port));
    const auto table = ebpf::maglevTable(names, KITE_MAGLEV_SIZE);
    const std::string cookie = ebpf::testing::capture(
        "ip netns exec " + ns +
        " /usr/bin/python3 -c 'import socket, struct; print(struct.unpack(\"Q\", "
        "socket.socket().getsockopt(socket.SOL_SOCKET, 71, 8))[0])'");
    const auto slot = table.at(kite_maglev_entry(std::stoull(cookie)));
    const auto& ip = port.endpoints.at(slot).ip;
    for (int i = 0; i < 3; ++i) {
      if (net_->podIPv6(i) == ip) return net_->podName(i);
    }
    return std::string("?");
  };

  const auto all = service("web", "fd00:43::70", 80, {0, 1, 2});
  dataplane_->syncAll(stateOf({all}));
  for (const auto& ns : clients) {
    SCOPED_TRACE(ns);
    EXPECT_EQ(pods(fromNode("tcp", "fd00:43::70", 80, 6, 2.0, ns)),
              (std::set<std::string>{predicted(all, ns)}));
  }
  const auto two = service("web", "fd00:43::70", 80, {0, 2});
  dataplane_->syncChanges(stateOf({all}), stateOf({two}));
  for (const auto& ns : clients) {
    SCOPED_TRACE(ns);
    EXPECT_EQ(pods(fromNode("tcp", "fd00:43::70", 80, 6, 2.0, ns)),
              (std::set<std::string>{predicted(two, ns)}));
  }
  // The tables go with their generations.
  dataplane_->syncAll(stateOf({}));
  EXPECT_TRUE(
      ebpf::SockLb({.pinDir = pins_->path(), .cgroup = cgroup_->path()}).maglev().keys().empty());
}

TEST_F(EbpfDualStackTraffic, AnEndpointOfTheOtherFamilyIsRefusedBySync) {
  auto mixed = service("mixed", "fd00:43::50", 80, {0});
  mixed.endpoints.push_back({net_->podIP(1), kPodPort, false});
  EXPECT_THROW(dataplane_->syncAll(stateOf({mixed})), std::invalid_argument);
}

}  // namespace
}  // namespace kite::proxy
