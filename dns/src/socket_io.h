#pragma once
// Small socket helpers of the DNS server and forwarder: kite's owning descriptor, socket
// addresses from text, and DNS-over-TCP framing with deadlines (a slow peer never blocks for
// ever).

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "kite/base/unique_fd.h"

namespace kite::dns::detail {

using UniqueFd = base::UniqueFd;

struct SocketAddress {
  sockaddr_storage storage{};
  socklen_t length = 0;
  int family() const { return storage.ss_family; }
  const sockaddr* get() const;
  sockaddr* get();
};

// "10.0.0.1" or "fd00::1" with a port; nullopt when the text is not an IP literal.
std::optional<SocketAddress> parseAddress(const std::string& ip, std::uint16_t port);
// "1.2.3.4", "1.2.3.4:5353", "fd00::1", "[fd00::1]:5353"; std::invalid_argument otherwise.
SocketAddress parseHostPort(const std::string& text, std::uint16_t defaultPort);
std::string toString(const SocketAddress& address);
bool isLoopback(const SocketAddress& address);

using Deadline = std::chrono::steady_clock::time_point;

// Waits until fd is readable (or writable); false at the deadline.
bool waitFor(int fd, bool forWrite, Deadline deadline);
// Exactly n bytes; false on end of stream, error or deadline.
bool readFull(int fd, std::uint8_t* data, std::size_t n, Deadline deadline);
bool writeFull(int fd, const std::uint8_t* data, std::size_t n, Deadline deadline);
// One length-prefixed message (RFC 1035 4.2.2); nullopt on end of stream, error or deadline.
std::optional<std::vector<std::uint8_t>> readTcpMessage(int fd, Deadline deadline);
bool writeTcpMessage(int fd, std::span<const std::uint8_t> message, Deadline deadline);
// A non-blocking TCP connection to address, connected by the deadline; empty on failure.
UniqueFd connectTcp(const SocketAddress& address, Deadline deadline);

}  // namespace kite::dns::detail
