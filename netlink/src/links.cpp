// rtnetlink links and addresses.

#include "kite/netlink/links.h"

#include <libmnl/libmnl.h>
#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>

#include <algorithm>
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

// The kernel takes up to IFNAMSIZ-1 bytes; "/" and blanks are refused by it too, but a clear
// error here names the field.
void checkName(const std::string& name) {
  if (name.empty() || name.size() >= IFNAMSIZ ||
      name.find_first_of("/ \t\n:") != std::string::npos) {
    throw std::invalid_argument("link name: \"" + name +
                                "\" is not a valid interface name (1-15 characters, no '/', ':' "
                                "or blanks)");
  }
}

template <std::size_t N>
int collect(const nlattr* attr, void* data) {
  auto* out = static_cast<std::array<const nlattr*, N>*>(data);
  const auto type = static_cast<std::size_t>(mnl_attr_get_type(attr));
  if (type < out->size()) (*out)[type] = attr;
  return MNL_CB_OK;
}

Link parseLink(const nlmsghdr* answer) {
  const auto* info = static_cast<const ifinfomsg*>(mnl_nlmsg_get_payload(answer));
  std::array<const nlattr*, IFLA_MAX + 1> attrs{};
  mnl_attr_parse(answer, sizeof(ifinfomsg), collect<IFLA_MAX + 1>, &attrs);
  Link link;
  link.index = info->ifi_index;
  link.up = (info->ifi_flags & IFF_UP) != 0;
  if (attrs[IFLA_IFNAME] != nullptr) link.name = mnl_attr_get_str(attrs[IFLA_IFNAME]);
  if (attrs[IFLA_LINKINFO] != nullptr) {
    std::array<const nlattr*, IFLA_INFO_MAX + 1> nested{};
    mnl_attr_parse_nested(attrs[IFLA_LINKINFO], collect<IFLA_INFO_MAX + 1>, &nested);
    if (nested[IFLA_INFO_KIND] != nullptr) link.kind = mnl_attr_get_str(nested[IFLA_INFO_KIND]);
  }
  return link;
}

// The address message for `cidr` on link `index`.
nlmsghdr* addressMessage(char* buffer, std::uint16_t type, std::uint16_t flags, int index,
                         const std::string& cidr) {
  const auto prefix = detail::parsePrefix(cidr, "address");
  nlmsghdr* message = putHeader(buffer, type, flags);
  auto* ifa = static_cast<ifaddrmsg*>(mnl_nlmsg_put_extra_header(message, sizeof(ifaddrmsg)));
  ifa->ifa_family = static_cast<std::uint8_t>(prefix.address.family);
  ifa->ifa_prefixlen = static_cast<std::uint8_t>(prefix.length);
  ifa->ifa_scope = RT_SCOPE_UNIVERSE;
  ifa->ifa_index = static_cast<std::uint32_t>(index);
  // An IPv6 address skips duplicate address detection: it is usable at once instead of
  // "tentative" for a second or more (the addresses put here are the node's own).
  if (type == RTM_NEWADDR && prefix.address.family == AF_INET6) ifa->ifa_flags = IFA_F_NODAD;
  // IPv4 names the local address IFA_LOCAL (IFA_ADDRESS is the peer's, the same here); IPv6
  // knows only IFA_ADDRESS.
  if (prefix.address.family == AF_INET) {
    mnl_attr_put(message, IFA_LOCAL, prefix.address.size(), prefix.address.bytes.data());
  }
  mnl_attr_put(message, IFA_ADDRESS, prefix.address.size(), prefix.address.bytes.data());
  return message;
}

}  // namespace

Links::Links() : socket_(NETLINK_ROUTE) {}

std::optional<Link> Links::find(const std::string& name) {
  checkName(name);
  std::array<char, kMessageSize> buffer{};
  nlmsghdr* message = putHeader(buffer.data(), RTM_GETLINK, NLM_F_ACK);
  auto* info = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(message, sizeof(ifinfomsg)));
  info->ifi_family = AF_UNSPEC;
  mnl_attr_put_strz(message, IFLA_IFNAME, name.c_str());
  std::optional<Link> found;
  try {
    socket_.request(message, [&](const nlmsghdr* answer) {
      if (answer->nlmsg_type == RTM_NEWLINK) found = parseLink(answer);
    });
  } catch (const std::system_error& e) {
    if (e.code().value() == ENODEV) return std::nullopt;
    throw;
  }
  return found;
}

int Links::indexOf(const std::string& name) {
  const auto link = find(name);
  if (!link) {
    throw std::system_error(ENODEV, std::generic_category(), "netlink: no link " + name);
  }
  return link->index;
}

void Links::add(const std::string& name, const std::string& kind) {
  checkName(name);
  if (kind.empty() || kind.size() >= IFNAMSIZ) {
    throw std::invalid_argument("link kind: \"" + kind + "\" is not a link kind");
  }
  if (const auto existing = find(name)) {
    if (existing->kind == kind) return;
    throw std::system_error(EEXIST, std::generic_category(),
                            "netlink: link " + name + " exists and is a " +
                                (existing->kind.empty() ? "device" : existing->kind) +
                                " link, not a " + kind);
  }
  std::array<char, kMessageSize> buffer{};
  nlmsghdr* message = putHeader(buffer.data(), RTM_NEWLINK, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL);
  auto* info = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(message, sizeof(ifinfomsg)));
  info->ifi_family = AF_UNSPEC;
  mnl_attr_put_strz(message, IFLA_IFNAME, name.c_str());
  nlattr* linkInfo = mnl_attr_nest_start(message, IFLA_LINKINFO);
  mnl_attr_put_strz(message, IFLA_INFO_KIND, kind.c_str());
  mnl_attr_nest_end(message, linkInfo);
  try {
    socket_.request(message);
  } catch (const std::system_error& e) {
    if (e.code().value() == EOPNOTSUPP) {
      throw std::system_error(EOPNOTSUPP, std::generic_category(),
                              "netlink: this kernel has no " + kind + " links");
    }
    // Another process made it between the look-up and the request: fine if of that kind.
    if (e.code().value() != EEXIST) throw;
    const auto raced = find(name);
    if (!raced || raced->kind != kind) throw;
  }
}

void Links::setUp(const std::string& name) {
  const int index = indexOf(name);
  std::array<char, kMessageSize> buffer{};
  nlmsghdr* message = putHeader(buffer.data(), RTM_NEWLINK, NLM_F_ACK);
  auto* info = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(message, sizeof(ifinfomsg)));
  info->ifi_family = AF_UNSPEC;
  info->ifi_index = index;
  info->ifi_flags = IFF_UP;
  info->ifi_change = IFF_UP;
  socket_.request(message);
}

bool Links::remove(const std::string& name) {
  const auto link = find(name);
  if (!link) return false;
  std::array<char, kMessageSize> buffer{};
  nlmsghdr* message = putHeader(buffer.data(), RTM_DELLINK, NLM_F_ACK);
  auto* info = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(message, sizeof(ifinfomsg)));
  info->ifi_family = AF_UNSPEC;
  info->ifi_index = link->index;
  try {
    socket_.request(message);
  } catch (const std::system_error& e) {
    if (e.code().value() == ENODEV) return false;
    throw;
  }
  return true;
}

void Links::addAddress(const std::string& link, const std::string& cidr) {
  const int index = indexOf(link);
  std::array<char, kMessageSize> buffer{};
  try {
    socket_.request(addressMessage(buffer.data(), RTM_NEWADDR,
                                   NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, index, cidr));
  } catch (const std::system_error& e) {
    if (e.code().value() != EEXIST) throw;
  }
}

bool Links::removeAddress(const std::string& link, const std::string& cidr) {
  const int index = indexOf(link);
  std::array<char, kMessageSize> buffer{};
  try {
    socket_.request(addressMessage(buffer.data(), RTM_DELADDR, NLM_F_ACK, index, cidr));
  } catch (const std::system_error& e) {
    if (e.code().value() == EADDRNOTAVAIL || e.code().value() == ESRCH) return false;
    throw;
  }
  return true;
}

std::vector<std::string> Links::addresses(const std::string& link) {
  const int index = indexOf(link);
  std::array<char, kMessageSize> buffer{};
  nlmsghdr* message = putHeader(buffer.data(), RTM_GETADDR, NLM_F_DUMP);
  auto* request = static_cast<ifaddrmsg*>(mnl_nlmsg_put_extra_header(message, sizeof(ifaddrmsg)));
  request->ifa_family = AF_UNSPEC;
  std::vector<std::string> v4;
  std::vector<std::string> v6;
  socket_.request(message, [&](const nlmsghdr* answer) {
    const auto* ifa = static_cast<const ifaddrmsg*>(mnl_nlmsg_get_payload(answer));
    if (static_cast<int>(ifa->ifa_index) != index) return;
    std::array<const nlattr*, IFA_MAX + 1> attrs{};
    mnl_attr_parse(answer, sizeof(ifaddrmsg), collect<IFA_MAX + 1>, &attrs);
    const nlattr* address = attrs[IFA_LOCAL] != nullptr ? attrs[IFA_LOCAL] : attrs[IFA_ADDRESS];
    if (address == nullptr) return;
    const std::string text = detail::formatAddress(ifa->ifa_family, mnl_attr_get_payload(address)) +
                             "/" + std::to_string(ifa->ifa_prefixlen);
    (ifa->ifa_family == AF_INET ? v4 : v6).push_back(text);
  });
  v4.insert(v4.end(), v6.begin(), v6.end());
  return v4;
}

}  // namespace kite::netlink
