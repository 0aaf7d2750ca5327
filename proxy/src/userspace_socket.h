#pragma once
// Socket helpers of the userspace proxy (IPv4, as the desired state): addresses from text,
// listeners, the reset that refuses a connection, and CIDR matching for
// --nodeport-addresses and loadBalancerSourceRanges.

#include <netinet/in.h>

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "userspace_fd.h"

namespace kite::proxy::userspace {

// Throws std::invalid_argument naming `field` when `ip` is no IPv4 address.
sockaddr_in socketAddress(const std::string& ip, int port, const std::string& field);
std::string formatAddress(const sockaddr_in& address);

// A non-blocking TCP listener or UDP socket bound to ip:port; throws std::system_error naming
// the address (EADDRINUSE when something else has the port).
UniqueFd listenTcp(const std::string& ip, int port);
UniqueFd bindUdp(const std::string& ip, int port);

// A buffer for one datagram of any size, one per thread (the loop's), reused by every UDP
// socket: no zeroing or allocation per datagram, no 64 KiB per listener.
std::span<char> datagramBuffer();

// Closes with SO_LINGER 0: the peer gets a RST, as from a port nobody listens on.
void resetAndClose(UniqueFd& fd);

struct Cidr {
  std::uint32_t network = 0;  // host order
  std::uint32_t mask = 0;
};
// "10.0.0.0/8" (a bare address is a /32); throws std::invalid_argument naming `field`.
Cidr parseCidr(const std::string& text, const std::string& field);
// `ip` in network order; true when `cidrs` is empty.
bool allowed(std::uint32_t ip, const std::vector<Cidr>& cidrs);
// The node's IPv4 addresses within `cidrs`, leaving out those of link `exclude`.
std::vector<std::string> localAddresses(const std::vector<Cidr>& cidrs, const std::string& exclude);

}  // namespace kite::proxy::userspace
