#pragma once
// Routes of the main table through rtnetlink (RTM_NEWROUTE / RTM_DELROUTE / RTM_GETROUTE).
// Routes kite installs carry their own protocol number (kRouteProtocol, shown by
// `ip route` as "proto 75"), so kite finds and removes exactly its own and never the admin's.
//
//   netlink::Routes routes;
//   routes.replace({.destination = "10.42.1.0/24", .gateway = "192.168.1.11"});  // host-gw
//   for (const auto& r : routes.list(AF_INET, netlink::kRouteProtocol)) ...

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "kite/netlink/socket.h"

namespace kite::netlink {

inline constexpr std::uint8_t kRouteProtocol = 75;

struct Route {
  std::string destination{};  // "10.42.1.0/24" (a host route is "/32")
  std::string gateway{};      // next hop; "" for a route straight out of `device`
  std::string device{};       // "" lets the kernel pick it from the gateway
  std::uint8_t protocol = kRouteProtocol;
  bool operator==(const Route&) const = default;
};

class Routes {
 public:
  // Opens a NETLINK_ROUTE socket in the caller's network namespace.
  Routes();

  // The unicast routes of the main table of one family, only those of `protocol` if given.
  std::vector<Route> list(int family, std::optional<std::uint8_t> protocol = std::nullopt);
  // Adds the route, or replaces the one to the same destination. Throws std::invalid_argument
  // for a malformed field, std::system_error when the kernel refuses (e.g. an unreachable
  // gateway: ENETUNREACH).
  void replace(const Route& route);
  // Deletes it; false when there was no such route.
  bool remove(const Route& route);

 private:
  Socket socket_;
};

}  // namespace kite::netlink
