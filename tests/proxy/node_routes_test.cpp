// host-gw routes from Nodes and their reconciliation, against a recording route table.

#include "kite/proxy/node_routes.h"

#include <gtest/gtest.h>

#include <stdexcept>

namespace kite::proxy {
namespace {

api::core::v1::Node node(const std::string& name, std::vector<std::string> cidrs,
                         std::vector<std::pair<std::string, std::string>> addresses) {
  api::core::v1::Node n;
  n.metadata.name = name;
  if (!cidrs.empty()) n.spec.podCIDR = cidrs[0];
  n.spec.podCIDRs = std::move(cidrs);
  for (auto& [type, address] : addresses) {
    api::core::v1::NodeAddress a;
    a.type = type;
    a.address = address;
    n.status.addresses.push_back(a);
  }
  return n;
}

TEST(HostGatewayRoutes, OneRoutePerOtherNodesPodCidrViaItsInternalIP) {
  const auto routes =
      hostGatewayRoutes({node("self", {"10.42.0.0/24"}, {{"InternalIP", "192.168.1.10"}}),
                         node("n2", {"10.42.2.0/24", "fd42:2::/64"},
                              {{"Hostname", "n2"},
                               {"ExternalIP", "203.0.113.2"},
                               {"InternalIP", "192.168.1.12"},
                               {"InternalIP", "fd00::12"}}),
                         node("n1", {"10.42.1.0/24"}, {{"InternalIP", "192.168.1.11"}}),
                         node("no-cidr", {}, {{"InternalIP", "192.168.1.13"}}),
                         node("no-internal-ip", {"10.42.4.0/24"}, {{"ExternalIP", "203.0.113.4"}}),
                         node("bad-cidr", {"10.42.5.0"}, {{"InternalIP", "192.168.1.15"}})},
                        "self");
  const std::vector<netlink::Route> expected{
      {.destination = "10.42.1.0/24", .gateway = "192.168.1.11"},
      {.destination = "10.42.2.0/24", .gateway = "192.168.1.12"},
      {.destination = "fd42:2::/64", .gateway = "fd00::12"}};
  EXPECT_EQ(routes, expected);
}

class RecordingTable final : public RouteTable {
 public:
  std::vector<netlink::Route> listOwn() override { return routes; }
  void replace(const netlink::Route& route) override {
    if (route.gateway == "192.0.2.1") throw std::runtime_error("Network is unreachable");
    std::erase_if(routes, [&](const auto& r) { return r.destination == route.destination; });
    routes.push_back(route);
    ++writes;
  }
  void remove(const netlink::Route& route) override {
    std::erase_if(routes, [&](const auto& r) { return r.destination == route.destination; });
    ++writes;
  }
  std::vector<netlink::Route> routes;
  int writes = 0;
};

TEST(SyncRoutes, AddsChangesAndRemovesOnlyWhatDiffers) {
  RecordingTable table;
  table.routes = {{.destination = "10.42.1.0/24", .gateway = "192.168.1.11", .device = "eth0"},
                  {.destination = "10.42.2.0/24", .gateway = "192.168.1.99"},
                  {.destination = "10.42.3.0/24", .gateway = "192.168.1.13"}};
  const std::vector<netlink::Route> desired{
      {.destination = "10.42.1.0/24", .gateway = "192.168.1.11"},  // same (device filled in)
      {.destination = "10.42.2.0/24", .gateway = "192.168.1.12"},  // node moved
      {.destination = "10.42.4.0/24", .gateway = "192.168.1.14"},  // new node
      {.destination = "10.42.5.0/24", .gateway = "192.0.2.1"}};    // unreachable
  EXPECT_EQ(syncRoutes(table, desired), 1U);
  EXPECT_EQ(table.writes, 3);  // 3 removed, 2 replaced, 4 added
  ASSERT_EQ(table.routes.size(), 3U);
  table.writes = 0;
  EXPECT_EQ(syncRoutes(table, {desired.begin(), desired.begin() + 3}), 0U);
  EXPECT_EQ(table.writes, 0);
}

}  // namespace
}  // namespace kite::proxy
