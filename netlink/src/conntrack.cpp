// nfnetlink conntrack: IPCTNL_MSG_CT_GET (dump) and IPCTNL_MSG_CT_DELETE (by original tuple).

#include "kite/netlink/conntrack.h"

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <netinet/in.h>

#include <array>
#include <cerrno>
#include <system_error>

#include "ip_address.h"

namespace kite::netlink {

namespace {

constexpr std::size_t kMessageSize = 4096;

nlmsghdr* putHeader(char* buffer, std::uint16_t type, std::uint16_t flags, int family) {
  nlmsghdr* message = mnl_nlmsg_put_header(buffer);
  message->nlmsg_type = static_cast<std::uint16_t>((NFNL_SUBSYS_CTNETLINK << 8) | type);
  message->nlmsg_flags = static_cast<std::uint16_t>(NLM_F_REQUEST | flags);
  auto* header = static_cast<nfgenmsg*>(mnl_nlmsg_put_extra_header(message, sizeof(nfgenmsg)));
  header->nfgen_family = static_cast<std::uint8_t>(family);
  header->version = NFNETLINK_V0;
  header->res_id = 0;
  return message;
}

// The attributes of one nest, by type (only types up to `max` are kept).
template <std::size_t N>
std::array<const nlattr*, N> attributesOf(const nlattr* nest) {
  std::array<const nlattr*, N> table{};
  mnl_attr_parse_nested(
      nest,
      [](const nlattr* attr, void* data) {
        auto* out = static_cast<std::array<const nlattr*, N>*>(data);
        const auto type = static_cast<std::size_t>(mnl_attr_get_type(attr));
        if (type < N) (*out)[type] = attr;
        return MNL_CB_OK;
      },
      &table);
  return table;
}

ConntrackTuple parseTuple(const nlattr* nest, int family, std::uint8_t& protocol) {
  ConntrackTuple tuple;
  const auto parts = attributesOf<CTA_TUPLE_MAX + 1>(nest);
  if (parts[CTA_TUPLE_IP] != nullptr) {
    const auto ip = attributesOf<CTA_IP_MAX + 1>(parts[CTA_TUPLE_IP]);
    const int src = family == AF_INET ? CTA_IP_V4_SRC : CTA_IP_V6_SRC;
    const int dst = family == AF_INET ? CTA_IP_V4_DST : CTA_IP_V6_DST;
    if (ip[src] != nullptr)
      tuple.source = detail::formatAddress(family, mnl_attr_get_payload(ip[src]));
    if (ip[dst] != nullptr) {
      tuple.destination = detail::formatAddress(family, mnl_attr_get_payload(ip[dst]));
    }
  }
  if (parts[CTA_TUPLE_PROTO] != nullptr) {
    const auto proto = attributesOf<CTA_PROTO_MAX + 1>(parts[CTA_TUPLE_PROTO]);
    if (proto[CTA_PROTO_NUM] != nullptr) protocol = mnl_attr_get_u8(proto[CTA_PROTO_NUM]);
    if (proto[CTA_PROTO_SRC_PORT] != nullptr) {
      tuple.sourcePort = ntohs(mnl_attr_get_u16(proto[CTA_PROTO_SRC_PORT]));
    }
    if (proto[CTA_PROTO_DST_PORT] != nullptr) {
      tuple.destinationPort = ntohs(mnl_attr_get_u16(proto[CTA_PROTO_DST_PORT]));
    }
  }
  return tuple;
}

void putTuple(nlmsghdr* message, const ConntrackEntry& entry) {
  const auto src = detail::parseAddress(entry.original.source, "conntrack source");
  const auto dst = detail::parseAddress(entry.original.destination, "conntrack destination");
  const bool v4 = entry.family == AF_INET;
  nlattr* tuple = mnl_attr_nest_start(message, CTA_TUPLE_ORIG);
  nlattr* ip = mnl_attr_nest_start(message, CTA_TUPLE_IP);
  mnl_attr_put(message, v4 ? CTA_IP_V4_SRC : CTA_IP_V6_SRC, src.size(), src.bytes.data());
  mnl_attr_put(message, v4 ? CTA_IP_V4_DST : CTA_IP_V6_DST, dst.size(), dst.bytes.data());
  mnl_attr_nest_end(message, ip);
  nlattr* proto = mnl_attr_nest_start(message, CTA_TUPLE_PROTO);
  mnl_attr_put_u8(message, CTA_PROTO_NUM, entry.protocol);
  if (entry.protocol == IPPROTO_UDP || entry.protocol == IPPROTO_TCP ||
      entry.protocol == IPPROTO_SCTP) {
    mnl_attr_put_u16(message, CTA_PROTO_SRC_PORT, htons(entry.original.sourcePort));
    mnl_attr_put_u16(message, CTA_PROTO_DST_PORT, htons(entry.original.destinationPort));
  }
  mnl_attr_nest_end(message, proto);
  mnl_attr_nest_end(message, tuple);
  if (entry.zone != 0) mnl_attr_put_u16(message, CTA_ZONE, htons(entry.zone));
}

}  // namespace

Conntrack::Conntrack() : socket_(NETLINK_NETFILTER) {}

std::vector<ConntrackEntry> Conntrack::list(int family) {
  std::array<char, kMessageSize> buffer{};
  nlmsghdr* message = putHeader(buffer.data(), IPCTNL_MSG_CT_GET, NLM_F_DUMP, family);
  std::vector<ConntrackEntry> entries;
  socket_.request(message, [&](const nlmsghdr* answer) {
    const auto* header = static_cast<const nfgenmsg*>(mnl_nlmsg_get_payload(answer));
    ConntrackEntry entry;
    entry.family = header->nfgen_family;
    if (entry.family != AF_INET && entry.family != AF_INET6) return;
    std::array<const nlattr*, CTA_MAX + 1> top{};
    mnl_attr_parse(
        answer, sizeof(nfgenmsg),
        [](const nlattr* attr, void* data) {
          auto* out = static_cast<std::array<const nlattr*, CTA_MAX + 1>*>(data);
          const auto type = static_cast<std::size_t>(mnl_attr_get_type(attr));
          if (type < out->size()) (*out)[type] = attr;
          return MNL_CB_OK;
        },
        &top);
    if (top[CTA_TUPLE_ORIG] == nullptr || top[CTA_TUPLE_REPLY] == nullptr) return;
    entry.original = parseTuple(top[CTA_TUPLE_ORIG], entry.family, entry.protocol);
    std::uint8_t replyProtocol = 0;
    entry.reply = parseTuple(top[CTA_TUPLE_REPLY], entry.family, replyProtocol);
    if (top[CTA_ZONE] != nullptr) entry.zone = ntohs(mnl_attr_get_u16(top[CTA_ZONE]));
    entries.push_back(std::move(entry));
  });
  return entries;
}

bool Conntrack::remove(const ConntrackEntry& entry) {
  std::array<char, kMessageSize> buffer{};
  nlmsghdr* message = putHeader(buffer.data(), IPCTNL_MSG_CT_DELETE, NLM_F_ACK, entry.family);
  putTuple(message, entry);
  try {
    socket_.request(message);
  } catch (const std::system_error& e) {
    if (e.code().value() == ENOENT) return false;  // expired or deleted meanwhile
    throw;
  }
  return true;
}

std::size_t Conntrack::removeIf(int family,
                                const std::function<bool(const ConntrackEntry&)>& pick) {
  std::size_t removed = 0;
  // The whole dump first: deleting while the kernel walks the table could skip entries.
  for (const auto& entry : list(family)) {
    if (pick(entry) && remove(entry)) ++removed;
  }
  return removed;
}

}  // namespace kite::netlink
