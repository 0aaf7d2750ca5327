// rtnetlink routes of the main table.

#include "kite/netlink/routes.h"

#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netinet/in.h>

#include <array>
#include <cerrno>
#include <stdexcept>
#include <system_error>

#include "ip_address.h"

namespace kite::netlink {

namespace {

constexpr std::size_t kMessageSize = 4096;

nlmsghdr* putHeader(char* buffer, std::uint16_t type, std::uint16_t flags) {
  nlmsghdr* message = mnl_nlmsg_put_header(buffer);
  message->nlmsg_type = type;
  message->nlmsg_flags = static_cast<std::uint16_t>(NLM_F_REQUEST | flags);
  return message;
}

// The route message for `route` (destination, gateway, device, protocol, main table).
nlmsghdr* routeMessage(char* buffer, std::uint16_t type, std::uint16_t flags, const Route& route) {
  const auto destination = detail::parsePrefix(route.destination, "route destination");
  nlmsghdr* message = putHeader(buffer, type, flags);
  auto* rt = static_cast<rtmsg*>(mnl_nlmsg_put_extra_header(message, sizeof(rtmsg)));
  rt->rtm_family = static_cast<std::uint8_t>(destination.address.family);
  rt->rtm_dst_len = static_cast<std::uint8_t>(destination.length);
  rt->rtm_table = RT_TABLE_MAIN;
  rt->rtm_protocol = route.protocol;
  rt->rtm_scope = route.gateway.empty() ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE;
  rt->rtm_type = RTN_UNICAST;
  mnl_attr_put(message, RTA_DST, destination.address.size(), destination.address.bytes.data());
  if (!route.gateway.empty()) {
    const auto gateway = detail::parseAddress(route.gateway, "route gateway");
    if (gateway.family != destination.address.family) {
      throw std::invalid_argument("route gateway: " + route.gateway + " is not of the family of " +
                                  route.destination);
    }
    mnl_attr_put(message, RTA_GATEWAY, gateway.size(), gateway.bytes.data());
  }
  if (!route.device.empty()) {
    const unsigned index = if_nametoindex(route.device.c_str());
    if (index == 0) throw std::invalid_argument("route device: no interface " + route.device);
    mnl_attr_put_u32(message, RTA_OIF, index);
  }
  return message;
}

}  // namespace

Routes::Routes() : socket_(NETLINK_ROUTE) {}

std::vector<Route> Routes::list(int family, std::optional<std::uint8_t> protocol) {
  std::array<char, kMessageSize> buffer{};
  nlmsghdr* message = putHeader(buffer.data(), RTM_GETROUTE, NLM_F_DUMP);
  auto* request = static_cast<rtmsg*>(mnl_nlmsg_put_extra_header(message, sizeof(rtmsg)));
  request->rtm_family = static_cast<std::uint8_t>(family);
  std::vector<Route> routes;
  socket_.request(message, [&](const nlmsghdr* answer) {
    const auto* rt = static_cast<const rtmsg*>(mnl_nlmsg_get_payload(answer));
    if (rt->rtm_table != RT_TABLE_MAIN || rt->rtm_type != RTN_UNICAST) return;
    if (protocol && rt->rtm_protocol != *protocol) return;
    std::array<const nlattr*, RTA_MAX + 1> attrs{};
    mnl_attr_parse(
        answer, sizeof(rtmsg),
        [](const nlattr* attr, void* data) {
          auto* out = static_cast<std::array<const nlattr*, RTA_MAX + 1>*>(data);
          const auto type = static_cast<std::size_t>(mnl_attr_get_type(attr));
          if (type < out->size()) (*out)[type] = attr;
          return MNL_CB_OK;
        },
        &attrs);
    // A table attribute wider than rtm_table (tables above 255) is not the main table.
    if (attrs[RTA_TABLE] != nullptr && mnl_attr_get_u32(attrs[RTA_TABLE]) != RT_TABLE_MAIN) return;
    Route route;
    route.protocol = rt->rtm_protocol;
    const std::string any = rt->rtm_family == AF_INET ? "0.0.0.0" : "::";
    route.destination =
        (attrs[RTA_DST] != nullptr
             ? detail::formatAddress(rt->rtm_family, mnl_attr_get_payload(attrs[RTA_DST]))
             : any) +
        "/" + std::to_string(rt->rtm_dst_len);
    if (attrs[RTA_GATEWAY] != nullptr) {
      route.gateway =
          detail::formatAddress(rt->rtm_family, mnl_attr_get_payload(attrs[RTA_GATEWAY]));
    }
    if (attrs[RTA_OIF] != nullptr) {
      std::array<char, IF_NAMESIZE> name{};
      if (if_indextoname(mnl_attr_get_u32(attrs[RTA_OIF]), name.data()) != nullptr) {
        route.device = name.data();
      }
    }
    routes.push_back(std::move(route));
  });
  return routes;
}

void Routes::replace(const Route& route) {
  std::array<char, kMessageSize> buffer{};
  socket_.request(
      routeMessage(buffer.data(), RTM_NEWROUTE, NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE, route));
}

bool Routes::remove(const Route& route) {
  std::array<char, kMessageSize> buffer{};
  try {
    socket_.request(routeMessage(buffer.data(), RTM_DELROUTE, NLM_F_ACK, route));
  } catch (const std::system_error& e) {
    if (e.code().value() == ESRCH) return false;
    throw;
  }
  return true;
}

}  // namespace kite::netlink
