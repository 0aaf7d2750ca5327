// host-gw routes from Nodes, and their reconciliation with the kernel's table.

#include "kite/proxy/node_routes.h"

#include <arpa/inet.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <map>

namespace kite::proxy {

namespace {

int familyOf(const std::string& address) {
  std::array<unsigned char, 16> buf{};
  if (inet_pton(AF_INET, address.c_str(), buf.data()) == 1) return AF_INET;
  if (inet_pton(AF_INET6, address.c_str(), buf.data()) == 1) return AF_INET6;
  return 0;
}

// "10.42.1.0/24" -> family of its address, 0 when malformed.
int cidrFamily(const std::string& cidr) {
  const auto slash = cidr.find('/');
  return slash == std::string::npos ? 0 : familyOf(cidr.substr(0, slash));
}

class NetlinkRouteTable final : public RouteTable {
 public:
  std::vector<netlink::Route> listOwn() override {
    auto routes = routes_.list(AF_INET, netlink::kRouteProtocol);
    auto v6 = routes_.list(AF_INET6, netlink::kRouteProtocol);
    routes.insert(routes.end(), v6.begin(), v6.end());
    return routes;
  }
  void replace(const netlink::Route& route) override { routes_.replace(route); }
  void remove(const netlink::Route& route) override { routes_.remove(route); }

 private:
  netlink::Routes routes_;
};

}  // namespace

std::vector<netlink::Route> hostGatewayRoutes(const std::vector<api::core::v1::Node>& nodes,
                                              const std::string& self) {
  std::vector<netlink::Route> routes;
  for (const auto& node : nodes) {
    if (node.metadata.name == self) continue;
    std::vector<std::string> cidrs = node.spec.podCIDRs;
    if (cidrs.empty() && !node.spec.podCIDR.empty()) cidrs.push_back(node.spec.podCIDR);
    for (const auto& cidr : cidrs) {
      const int family = cidrFamily(cidr);
      if (family == 0) continue;
      const auto address = std::find_if(
          node.status.addresses.begin(), node.status.addresses.end(),
          [&](const auto& a) { return a.type == "InternalIP" && familyOf(a.address) == family; });
      if (address == node.status.addresses.end()) continue;
      routes.push_back({.destination = cidr, .gateway = address->address});
    }
  }
  std::sort(routes.begin(), routes.end(), [](const auto& a, const auto& b) {
    return a.destination != b.destination ? a.destination < b.destination : a.gateway < b.gateway;
  });
  return routes;
}

std::unique_ptr<RouteTable> makeNetlinkRouteTable() {
  return std::make_unique<NetlinkRouteTable>();
}

std::size_t syncRoutes(RouteTable& table, const std::vector<netlink::Route>& desired) {
  std::map<std::string, netlink::Route> want;
  for (const auto& route : desired) want.emplace(route.destination, route);
  std::map<std::string, netlink::Route> have;
  for (const auto& route : table.listOwn()) have.emplace(route.destination, route);

  std::size_t failures = 0;
  const auto attempt = [&](const char* what, const netlink::Route& route, auto&& action) {
    try {
      action();
    } catch (const std::exception& e) {
      ++failures;
      spdlog::warn("proxy: cannot {} the route to {} via {}: {}", what, route.destination,
                   route.gateway, e.what());
    }
  };
  for (const auto& entry : have) {
    const netlink::Route& route = entry.second;
    if (!want.contains(entry.first)) attempt("remove", route, [&] { table.remove(route); });
  }
  for (const auto& entry : want) {
    const netlink::Route& route = entry.second;
    const auto it = have.find(entry.first);
    // The kernel fills in the device; only the gateway says whether it is the same route.
    if (it != have.end() && it->second.gateway == route.gateway) continue;
    attempt("add", route, [&] { table.replace(route); });
  }
  return failures;
}

}  // namespace kite::proxy
