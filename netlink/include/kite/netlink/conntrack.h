#pragma once
// Conntrack entries through nfnetlink conntrack: list them and delete the ones a predicate
// picks (how the proxy drops stale UDP entries towards removed endpoints: one dump, then a
// delete by tuple for each match, as kube-proxy does it).
//
//   netlink::Conntrack ct;
//   ct.removeIf(AF_INET, [](const netlink::ConntrackEntry& e) {
//     return e.protocol == IPPROTO_UDP && e.original.destination == "10.43.0.10" &&
//            e.original.destinationPort == 53 && e.reply.source == "10.42.1.2";
//   });

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "kite/netlink/socket.h"

namespace kite::netlink {

// One direction of a connection. Addresses as text ("10.42.1.2", "fd00::1").
struct ConntrackTuple {
  std::string source{};
  std::string destination{};
  std::uint16_t sourcePort = 0;  // host order; 0 for protocols without ports
  std::uint16_t destinationPort = 0;
  bool operator==(const ConntrackTuple&) const = default;
};

struct ConntrackEntry {
  int family = 0;             // AF_INET or AF_INET6
  std::uint8_t protocol = 0;  // IPPROTO_UDP, IPPROTO_TCP...
  ConntrackTuple original{};  // as the client sent it (the Service address before DNAT)
  ConntrackTuple reply{};     // as the answer comes (reply.source: the endpoint after DNAT)
  std::uint16_t zone = 0;
};

class Conntrack {
 public:
  // Opens a NETLINK_NETFILTER socket in the caller's network namespace.
  Conntrack();

  // Every entry of one family (AF_INET or AF_INET6).
  std::vector<ConntrackEntry> list(int family);
  // Deletes one entry by its original tuple; false when it was already gone.
  bool remove(const ConntrackEntry& entry);
  // Lists once and deletes the entries `pick` selects; returns how many were deleted.
  std::size_t removeIf(int family, const std::function<bool(const ConntrackEntry&)>& pick);

 private:
  Socket socket_;
};

}  // namespace kite::netlink
