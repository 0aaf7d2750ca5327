#pragma once
// Socket helpers of the userspace proxy, for IPv4 and IPv6 alike (a Service port is one
// family, its addresses and endpoints all of it): addresses from text, listeners, the reset
// that refuses a connection, and CIDR matching for --nodeport-addresses and
// loadBalancerSourceRanges.

#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "userspace_fd.h"

namespace kite::proxy::userspace {

// A socket address of either family: made from text by socketAddress(), or filled in by the
// kernel (accept, recvmsg; pass raw() and &length, which starts at the storage's size).
struct SocketAddress {
  sockaddr_storage storage{};
  socklen_t length = sizeof(sockaddr_storage);

  int family() const { return storage.ss_family; }
  sockaddr* raw();
  const sockaddr* raw() const;
};

// An IP of either family as 16 bytes, IPv4 as ::ffff:a.b.c.d: the key of affinity pins.
using IpKey = std::array<unsigned char, 16>;
// The IP and port of a UDP client: the key of its flow.
using EndpointKey = std::array<unsigned char, 18>;

// Hashes the bytes of an IpKey or EndpointKey.
struct BytesHash {
  template <std::size_t N>
  std::size_t operator()(const std::array<unsigned char, N>& bytes) const noexcept {
    return hashBytes(bytes.data(), N);
  }
  static std::size_t hashBytes(const unsigned char* data, std::size_t size) noexcept;
};

IpKey ipKey(const SocketAddress& address);
EndpointKey endpointKey(const SocketAddress& address);

// Throws std::invalid_argument naming `field` when `ip` is no IPv4 or IPv6 address.
SocketAddress socketAddress(const std::string& ip, int port, const std::string& field);
// "10.0.0.1:80" or "[fd00::1]:80".
std::string formatAddress(const SocketAddress& address);

// A non-blocking TCP listener or UDP socket bound to ip:port (an IPv6 one takes IPv6 only, so
// "::" and "0.0.0.0" can both have a port); throws std::system_error naming the address
// (EADDRINUSE when something else has the port). UDP sockets report each datagram's
// destination (IP_PKTINFO / IPV6_RECVPKTINFO).
UniqueFd listenTcp(const std::string& ip, int port);
UniqueFd bindUdp(const std::string& ip, int port);

// A buffer for one datagram of any size, one per thread (the loop's), reused by every UDP
// socket: no zeroing or allocation per datagram, no 64 KiB per listener.
std::span<char> datagramBuffer();

// Closes with SO_LINGER 0: the peer gets a RST, as from a port nobody listens on.
void resetAndClose(UniqueFd& fd);

struct Cidr {
  bool ipv6 = false;
  std::array<unsigned char, 16> network{};  // the family's bytes first, masked
  int length = 0;
};
// "10.0.0.0/8" or "fd00::/64" (a bare address is a /32 or /128); throws std::invalid_argument
// naming `field`.
Cidr parseCidr(const std::string& text, const std::string& field);
// True when `cidrs` is empty or one of them (of the address's family) holds `address`.
bool allowed(const SocketAddress& address, const std::vector<Cidr>& cidrs);
// True when one of `cidrs` is of that family.
bool hasFamily(const std::vector<Cidr>& cidrs, bool ipv6);
// The node's addresses of one family within that family's `cidrs`, leaving out those of link
// `exclude` and IPv6 link-local ones (not bindable without a scope).
std::vector<std::string> localAddresses(const std::vector<Cidr>& cidrs, bool ipv6,
                                        const std::string& exclude);

}  // namespace kite::proxy::userspace
