#pragma once
// One DNS query packet in, the reply packet out: cluster names answered by ClusterResolver,
// everything else relayed through the Forwarder. Transport-free, so tests drive it directly;
// DnsServer calls it from its UDP and TCP paths.

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <vector>

#include "kite/dns/cluster_resolver.h"
#include "kite/dns/forwarder.h"

namespace kite::dns {

class QueryHandler {
 public:
  // ready: whether the records are complete (informers synced); until then cluster names get
  // SERVFAIL rather than a wrong NXDOMAIN that would be cached.
  QueryHandler(const ClusterResolver& resolver, const Forwarder& forwarder,
               std::function<bool()> ready);

  // The reply to packet, at most maxSize octets (512 or the EDNS size for UDP, 65535 for TCP;
  // a longer reply is cut to its header and question with TC set). nullopt: no reply at all
  // (not a query, or too short to carry an id).
  std::optional<std::vector<std::uint8_t>> handle(std::span<const std::uint8_t> packet,
                                                  bool overUdp) const;

 private:
  void chase(Message& reply, const std::string& target, std::uint16_t qtype) const;

  const ClusterResolver& resolver_;
  const Forwarder& forwarder_;
  std::function<bool()> ready_;
};

}  // namespace kite::dns
