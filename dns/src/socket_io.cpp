// Socket helpers of the DNS server (see socket_io.h).

#include "socket_io.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <poll.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace kite::dns::detail {

const sockaddr* SocketAddress::get() const { return reinterpret_cast<const sockaddr*>(&storage); }
sockaddr* SocketAddress::get() { return reinterpret_cast<sockaddr*>(&storage); }

std::optional<SocketAddress> parseAddress(const std::string& ip, std::uint16_t port) {
  SocketAddress out;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&out.storage);
  if (inet_pton(AF_INET, ip.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    out.length = sizeof(sockaddr_in);
    return out;
  }
  out.storage = {};
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&out.storage);
  if (inet_pton(AF_INET6, ip.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    out.length = sizeof(sockaddr_in6);
    return out;
  }
  return std::nullopt;
}

SocketAddress parseHostPort(const std::string& text, std::uint16_t defaultPort) {
  std::string host = text;
  std::uint16_t port = defaultPort;
  auto parsePort = [&](const std::string& p) {
    try {
      std::size_t used = 0;
      const int v = std::stoi(p, &used);
      if (used != p.size() || v <= 0 || v > 65535) throw std::invalid_argument(p);
      return static_cast<std::uint16_t>(v);
    } catch (const std::exception&) {
      throw std::invalid_argument("upstream " + text + ": bad port");
    }
  };
  if (text.starts_with('[')) {
    const auto close = text.find(']');
    if (close == std::string::npos) throw std::invalid_argument("upstream " + text + ": no ']'");
    host = text.substr(1, close - 1);
    if (close + 1 < text.size()) {
      if (text[close + 1] != ':') throw std::invalid_argument("upstream " + text + ": bad port");
      port = parsePort(text.substr(close + 2));
    }
  } else if (const auto colon = text.find(':');
             colon != std::string::npos && text.find(':', colon + 1) == std::string::npos) {
    host = text.substr(0, colon);
    port = parsePort(text.substr(colon + 1));
  }
  auto address = parseAddress(host, port);
  if (!address) throw std::invalid_argument("upstream " + text + ": not an IP address");
  return *address;
}

std::string toString(const SocketAddress& address) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (address.family() == AF_INET) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(&address.storage);
    inet_ntop(AF_INET, &v4->sin_addr, buf, sizeof(buf));
    return std::string(buf) + ":" + std::to_string(ntohs(v4->sin_port));
  }
  const auto* v6 = reinterpret_cast<const sockaddr_in6*>(&address.storage);
  inet_ntop(AF_INET6, &v6->sin6_addr, buf, sizeof(buf));
  return "[" + std::string(buf) + "]:" + std::to_string(ntohs(v6->sin6_port));
}

bool isLoopback(const SocketAddress& address) {
  if (address.family() == AF_INET) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(&address.storage);
    return (ntohl(v4->sin_addr.s_addr) >> 24) == 127;
  }
  const auto* v6 = reinterpret_cast<const sockaddr_in6*>(&address.storage);
  return IN6_IS_ADDR_LOOPBACK(&v6->sin6_addr) != 0;
}

bool waitFor(int fd, bool forWrite, Deadline deadline) {
  while (true) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd, static_cast<short>(forWrite ? POLLOUT : POLLIN), 0};
    const int r = ::poll(&p, 1, static_cast<int>(left.count()));
    if (r > 0) return true;
    if (r < 0 && errno != EINTR) return false;
  }
}

bool readFull(int fd, std::uint8_t* data, std::size_t n, Deadline deadline) {
  std::size_t done = 0;
  while (done < n) {
    if (!waitFor(fd, false, deadline)) return false;
    const ssize_t r = ::recv(fd, data + done, n - done, 0);
    if (r == 0) return false;
    if (r < 0) {
      if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) continue;
      return false;
    }
    done += static_cast<std::size_t>(r);
  }
  return true;
}

bool writeFull(int fd, const std::uint8_t* data, std::size_t n, Deadline deadline) {
  std::size_t done = 0;
  while (done < n) {
    if (!waitFor(fd, true, deadline)) return false;
    const ssize_t r = ::send(fd, data + done, n - done, MSG_NOSIGNAL);
    if (r < 0) {
      if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) continue;
      return false;
    }
    done += static_cast<std::size_t>(r);
  }
  return true;
}

std::optional<std::vector<std::uint8_t>> readTcpMessage(int fd, Deadline deadline) {
  std::uint8_t prefix[2];
  if (!readFull(fd, prefix, 2, deadline)) return std::nullopt;
  const std::size_t length = (static_cast<std::size_t>(prefix[0]) << 8) | prefix[1];
  std::vector<std::uint8_t> message(length);
  if (length > 0 && !readFull(fd, message.data(), length, deadline)) return std::nullopt;
  return message;
}

bool writeTcpMessage(int fd, std::span<const std::uint8_t> message, Deadline deadline) {
  if (message.size() > 0xFFFF) return false;
  std::vector<std::uint8_t> framed;
  framed.reserve(message.size() + 2);
  framed.push_back(static_cast<std::uint8_t>(message.size() >> 8));
  framed.push_back(static_cast<std::uint8_t>(message.size() & 0xFF));
  framed.insert(framed.end(), message.begin(), message.end());
  return writeFull(fd, framed.data(), framed.size(), deadline);
}

UniqueFd connectTcp(const SocketAddress& address, Deadline deadline) {
  UniqueFd fd(::socket(address.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) return {};
  if (::connect(fd.get(), address.get(), address.length) == 0) return fd;
  if (errno != EINPROGRESS) return {};
  if (!waitFor(fd.get(), true, deadline)) return {};
  int error = 0;
  socklen_t len = sizeof(error);
  if (::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &error, &len) != 0 || error != 0) return {};
  return fd;
}

}  // namespace kite::dns::detail
