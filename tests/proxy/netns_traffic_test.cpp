// What only the nftables backend does, with real traffic: the proxy's table is applied inside
// a "node" namespace (a forked child enters it), pods serve TCP and UDP echo, a client outside
// the cluster connects. The Service cases every backend runs are in service_traffic_test.cpp.
// Also here, beside the table: host-gw routes and the healthCheckNodePort servers. Root only
// (CI runs as root); the host's own ruleset is never touched.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <memory>
#include <stdexcept>

#include "kite/proxy/health_check_servers.h"
#include "kite/proxy/nft_rules.h"
#include "kite/proxy/nftables_dataplane.h"
#include "kite/proxy/node_routes.h"
#include "netns.h"
#include "traffic.h"

namespace kite::proxy {
namespace {

using ::testing::Each;
using ::testing::HasSubstr;
using testing::kPodPort;
using testing::stateOf;

const nft::RulesOptions kOptions{.clusterCidr = "10.42.0.0/16"};

class ProxyTraffic : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root for network namespaces";
    net_ = std::make_unique<testing::TestNetwork>(3, kPodPort);
  }

  ServicePortState service(const std::string& name, const std::string& ip, int port,
                           const std::vector<int>& pods) const {
    return testing::service(*net_, name, ip, port, pods);
  }

  void syncAll(const DesiredState& state) {
    net_->inNode([&] { NftablesDataplane(kOptions).syncAll(state); });
  }

  std::unique_ptr<testing::TestNetwork> net_;
};

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
