#include "userspace_socket.h"

#include <arpa/inet.h>
#include <ifaddrs.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <functional>
#include <iterator>
#include <memory>
#include <stdexcept>
#include <string_view>
#include <system_error>

namespace kite::proxy::userspace {

namespace {

// NOLINTBEGIN(cppcoreguidelines-pro-type-reinterpret-cast): the sockets API
const sockaddr_in& asIPv4(const SocketAddress& a) {
  return *reinterpret_cast<const sockaddr_in*>(&a.storage);
}
const sockaddr_in6& asIPv6(const SocketAddress& a) {
  return *reinterpret_cast<const sockaddr_in6*>(&a.storage);
}
// NOLINTEND(cppcoreguidelines-pro-type-reinterpret-cast)

UniqueFd boundSocket(int type, const std::string& ip, int port) {
  const SocketAddress address = socketAddress(ip, port, "listen address");
  const bool ipv6 = address.family() == AF_INET6;
  UniqueFd fd(socket(address.family(), type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  const std::string where = formatAddress(address);
  if (!fd) throw std::system_error(errno, std::generic_category(), "socket for " + where);
  const int one = 1;
  setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  // "::" must not take the IPv4 port too: the IPv4 side of a dual-stack port has its own.
  if (ipv6) setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
  if (type == SOCK_DGRAM) {
    // The destination of each datagram, so answers leave from the address the client used.
    if (ipv6) {
      setsockopt(fd.get(), IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one));
    } else {
      setsockopt(fd.get(), IPPROTO_IP, IP_PKTINFO, &one, sizeof(one));
    }
  }
  if (bind(fd.get(), address.raw(), address.length) != 0) {
    throw std::system_error(errno, std::generic_category(), "cannot bind " + where);
  }
  if (type == SOCK_STREAM && listen(fd.get(), SOMAXCONN) != 0) {
    throw std::system_error(errno, std::generic_category(), "cannot listen on " + where);
  }
  return fd;
}

bool parseLength(const std::string& bits, int max, int& length) {
  if (bits.empty() || bits.size() > 3 ||
      bits.find_first_not_of("0123456789") != std::string::npos) {
    return false;
  }
  length = std::stoi(bits);
  return length <= max;
}

bool contains(const Cidr& cidr, const unsigned char* bytes) {
  for (int bit = 0; bit < cidr.length; bit += 8) {
    const auto index = static_cast<std::size_t>(bit / 8);
    const int bits = std::min(8, cidr.length - bit);
    const auto mask = static_cast<unsigned char>(0xffU << static_cast<unsigned>(8 - bits));
    if ((bytes[index] & mask) != cidr.network.at(index)) return false;
  }
  return true;
}

// The address bytes of `a` (4 or 16) and its family.
const unsigned char* addressBytes(const SocketAddress& a, bool& ipv6) {
  ipv6 = a.family() == AF_INET6;
  // NOLINTBEGIN(cppcoreguidelines-pro-type-reinterpret-cast): in_addr as bytes
  if (ipv6) return reinterpret_cast<const unsigned char*>(&asIPv6(a).sin6_addr);
  return reinterpret_cast<const unsigned char*>(&asIPv4(a).sin_addr);
  // NOLINTEND(cppcoreguidelines-pro-type-reinterpret-cast)
}

}  // namespace

// NOLINTBEGIN(cppcoreguidelines-pro-type-reinterpret-cast): the sockets API
sockaddr* SocketAddress::raw() { return reinterpret_cast<sockaddr*>(&storage); }
const sockaddr* SocketAddress::raw() const { return reinterpret_cast<const sockaddr*>(&storage); }
// NOLINTEND(cppcoreguidelines-pro-type-reinterpret-cast)

std::size_t BytesHash::hashBytes(const unsigned char* data, std::size_t size) noexcept {
  // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast): bytes as a string_view
  return std::hash<std::string_view>{}(std::string_view(reinterpret_cast<const char*>(data), size));
}

IpKey ipKey(const SocketAddress& address) {
  IpKey key{};
  bool ipv6 = false;
  const unsigned char* bytes = addressBytes(address, ipv6);
  if (ipv6) {
    std::memcpy(key.data(), bytes, 16);
  } else {
    key[10] = key[11] = 0xff;
    std::memcpy(key.data() + 12, bytes, 4);
  }
  return key;
}

EndpointKey endpointKey(const SocketAddress& address) {
  EndpointKey key{};
  const IpKey ip = ipKey(address);
  std::memcpy(key.data(), ip.data(), ip.size());
  const in_port_t port =
      address.family() == AF_INET6 ? asIPv6(address).sin6_port : asIPv4(address).sin_port;
  std::memcpy(key.data() + ip.size(), &port, sizeof(port));
  return key;
}

SocketAddress socketAddress(const std::string& ip, int port, const std::string& field) {
  SocketAddress out;
  const auto networkPort = htons(static_cast<std::uint16_t>(port));
  bool ok = port >= 0 && port <= 65535;
  // NOLINTBEGIN(cppcoreguidelines-pro-type-reinterpret-cast): the sockets API
  if (ok && ip.find(':') != std::string::npos) {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&out.storage);
    in6->sin6_family = AF_INET6;
    in6->sin6_port = networkPort;
    ok = inet_pton(AF_INET6, ip.c_str(), &in6->sin6_addr) == 1;
    out.length = sizeof(sockaddr_in6);
  } else if (ok) {
    auto* in = reinterpret_cast<sockaddr_in*>(&out.storage);
    in->sin_family = AF_INET;
    in->sin_port = networkPort;
    ok = inet_pton(AF_INET, ip.c_str(), &in->sin_addr) == 1;
    out.length = sizeof(sockaddr_in);
  }
  // NOLINTEND(cppcoreguidelines-pro-type-reinterpret-cast)
  if (!ok) {
    throw std::invalid_argument(field + ": \"" + ip + "\" port " + std::to_string(port) +
                                " is not an IP address and port");
  }
  return out;
}

std::string formatAddress(const SocketAddress& address) {
  std::array<char, INET6_ADDRSTRLEN> text{};
  bool ipv6 = false;
  const unsigned char* bytes = addressBytes(address, ipv6);
  inet_ntop(ipv6 ? AF_INET6 : AF_INET, bytes, text.data(), text.size());
  const auto port = ntohs(ipv6 ? asIPv6(address).sin6_port : asIPv4(address).sin_port);
  const std::string ip(text.data());
  return (ipv6 ? "[" + ip + "]" : ip) + ":" + std::to_string(port);
}

UniqueFd listenTcp(const std::string& ip, int port) { return boundSocket(SOCK_STREAM, ip, port); }
UniqueFd bindUdp(const std::string& ip, int port) { return boundSocket(SOCK_DGRAM, ip, port); }

std::span<char> datagramBuffer() {
  // Allocated on first use: a thread_local array would sit in the TLS image that every thread
  // of every kite process zeroes at start (64 KiB each), though only the event loop reads here.
  thread_local std::unique_ptr<std::array<char, 65536>> buffer;
  if (!buffer) buffer = std::make_unique<std::array<char, 65536>>();
  return *buffer;
}

void resetAndClose(UniqueFd& fd) {
  if (!fd) return;
  const linger abort{.l_onoff = 1, .l_linger = 0};
  setsockopt(fd.get(), SOL_SOCKET, SO_LINGER, &abort, sizeof(abort));
  fd.reset();
}

Cidr parseCidr(const std::string& text, const std::string& field) {
  const auto slash = text.find('/');
  const std::string ip = text.substr(0, slash);
  Cidr cidr;
  cidr.ipv6 = ip.find(':') != std::string::npos;
  const int max = cidr.ipv6 ? 128 : 32;
  cidr.length = max;
  bool ok = inet_pton(cidr.ipv6 ? AF_INET6 : AF_INET, ip.c_str(), cidr.network.data()) == 1;
  if (ok && slash != std::string::npos) ok = parseLength(text.substr(slash + 1), max, cidr.length);
  if (!ok) throw std::invalid_argument(field + ": \"" + text + "\" is not an IPv4 or IPv6 CIDR");
  for (int bit = 0; bit < max; bit += 8) {
    const int kept = std::clamp(cidr.length - bit, 0, 8);
    const auto mask = static_cast<unsigned char>(0xff00U >> static_cast<unsigned>(kept));
    cidr.network.at(static_cast<std::size_t>(bit / 8)) &= mask;
  }
  return cidr;
}

bool allowed(const SocketAddress& address, const std::vector<Cidr>& cidrs) {
  if (cidrs.empty()) return true;
  bool ipv6 = false;
  const unsigned char* bytes = addressBytes(address, ipv6);
  return std::any_of(cidrs.begin(), cidrs.end(),
                     [&](const Cidr& c) { return c.ipv6 == ipv6 && contains(c, bytes); });
}

bool hasFamily(const std::vector<Cidr>& cidrs, bool ipv6) {
  return std::any_of(cidrs.begin(), cidrs.end(), [&](const Cidr& c) { return c.ipv6 == ipv6; });
}

std::vector<std::string> localAddresses(const std::vector<Cidr>& cidrs, bool ipv6,
                                        const std::string& exclude) {
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) {
    throw std::system_error(errno, std::generic_category(), "getifaddrs failed");
  }
  const std::unique_ptr<ifaddrs, decltype(&freeifaddrs)> owned(list, freeifaddrs);
  std::vector<Cidr> ofFamily;
  std::copy_if(cidrs.begin(), cidrs.end(), std::back_inserter(ofFamily),
               [&](const Cidr& c) { return c.ipv6 == ipv6; });
  std::vector<std::string> out;
  for (const ifaddrs* a = list; a != nullptr; a = a->ifa_next) {
    if (a->ifa_addr == nullptr || a->ifa_addr->sa_family != (ipv6 ? AF_INET6 : AF_INET)) continue;
    if (exclude == a->ifa_name) continue;
    SocketAddress address;
    std::memcpy(&address.storage, a->ifa_addr, ipv6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in));
    bool isV6 = false;
    const unsigned char* bytes = addressBytes(address, isV6);
    if (ipv6 && bytes[0] == 0xfe && (bytes[1] & 0xc0U) == 0x80) continue;  // link-local
    if (!allowed(address, ofFamily)) continue;
    std::array<char, INET6_ADDRSTRLEN> text{};
    inet_ntop(ipv6 ? AF_INET6 : AF_INET, bytes, text.data(), text.size());
    if (std::find(out.begin(), out.end(), text.data()) == out.end()) out.emplace_back(text.data());
  }
  return out;
}

}  // namespace kite::proxy::userspace
