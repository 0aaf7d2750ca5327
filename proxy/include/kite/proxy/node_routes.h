#pragma once
// Routes to the other nodes' pod CIDRs, flannel's host-gw backend done by the proxy: every
// Node with a spec.podCIDRs entry and an InternalIP of the same family gets a route
// "podCIDR via InternalIP" on this node (nodes must share a layer-2 network, as with
// host-gw). The routes carry kite's own protocol number, so only kite's are ever removed.
//
//   auto table = proxy::makeNetlinkRouteTable();
//   proxy::syncRoutes(*table, proxy::hostGatewayRoutes(nodes, "node1"));

#include <memory>
#include <string>
#include <vector>

#include "kite/api/core/v1/types.h"
#include "kite/netlink/routes.h"

namespace kite::proxy {

// The routes this node needs; `self` (this node's name) is left out. Sorted.
std::vector<netlink::Route> hostGatewayRoutes(const std::vector<api::core::v1::Node>& nodes,
                                              const std::string& self);

// The seam to the kernel's routing table (tests use a recording one).
class RouteTable {
 public:
  virtual ~RouteTable() = default;
  // The routes kite installed (netlink::kRouteProtocol), both families.
  virtual std::vector<netlink::Route> listOwn() = 0;
  virtual void replace(const netlink::Route& route) = 0;
  virtual void remove(const netlink::Route& route) = 0;
};

// rtnetlink in the caller's network namespace.
std::unique_ptr<RouteTable> makeNetlinkRouteTable();

// Makes kite's routes equal `desired`: adds or replaces what is missing or different,
// removes the rest. One route failing (e.g. a node whose InternalIP is not on a local
// network) does not stop the others; returns how many failed (logged).
std::size_t syncRoutes(RouteTable& table, const std::vector<netlink::Route>& desired);

}  // namespace kite::proxy
