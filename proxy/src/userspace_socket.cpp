#include "userspace_socket.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <sys/socket.h>

#include <array>
#include <cerrno>
#include <memory>
#include <stdexcept>
#include <system_error>

namespace kite::proxy::userspace {

namespace {

const sockaddr* asSockaddr(const sockaddr_in& address) {
  // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast): the sockets API
  return reinterpret_cast<const sockaddr*>(&address);
}

UniqueFd boundSocket(int type, const std::string& ip, int port) {
  const sockaddr_in address = socketAddress(ip, port, "listen address");
  UniqueFd fd(socket(AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  const std::string where = ip + ":" + std::to_string(port);
  if (!fd) throw std::system_error(errno, std::generic_category(), "socket for " + where);
  const int one = 1;
  setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (type == SOCK_DGRAM) {
    // The destination of each datagram, so answers leave from the address the client used.
    setsockopt(fd.get(), IPPROTO_IP, IP_PKTINFO, &one, sizeof(one));
  }
  if (bind(fd.get(), asSockaddr(address), sizeof(address)) != 0) {
    throw std::system_error(errno, std::generic_category(), "cannot bind " + where);
  }
  if (type == SOCK_STREAM && listen(fd.get(), SOMAXCONN) != 0) {
    throw std::system_error(errno, std::generic_category(), "cannot listen on " + where);
  }
  return fd;
}

}  // namespace

sockaddr_in socketAddress(const std::string& ip, int port, const std::string& field) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  if (port < 0 || port > 65535 || inet_pton(AF_INET, ip.c_str(), &address.sin_addr) != 1) {
    throw std::invalid_argument(field + ": \"" + ip + ":" + std::to_string(port) +
                                "\" is not an IPv4 address and port");
  }
  return address;
}

std::string formatAddress(const sockaddr_in& address) {
  std::array<char, INET_ADDRSTRLEN> text{};
  inet_ntop(AF_INET, &address.sin_addr, text.data(), text.size());
  return std::string(text.data()) + ":" + std::to_string(ntohs(address.sin_port));
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
  in_addr address{};
  int length = 32;
  bool ok = inet_pton(AF_INET, ip.c_str(), &address) == 1;
  if (ok && slash != std::string::npos) {
    const std::string bits = text.substr(slash + 1);
    ok = !bits.empty() && bits.size() <= 2 &&
         bits.find_first_not_of("0123456789") == std::string::npos;
    if (ok) length = std::stoi(bits);
    ok = ok && length <= 32;
  }
  if (!ok) throw std::invalid_argument(field + ": \"" + text + "\" is not an IPv4 CIDR");
  Cidr cidr;
  cidr.mask = length == 0 ? 0 : ~std::uint32_t{0} << (32 - length);
  cidr.network = ntohl(address.s_addr) & cidr.mask;
  return cidr;
}

bool allowed(std::uint32_t ip, const std::vector<Cidr>& cidrs) {
  if (cidrs.empty()) return true;
  const std::uint32_t host = ntohl(ip);
  for (const auto& cidr : cidrs) {
    if ((host & cidr.mask) == cidr.network) return true;
  }
  return false;
}

std::vector<std::string> localAddresses(const std::vector<Cidr>& cidrs,
                                        const std::string& exclude) {
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) {
    throw std::system_error(errno, std::generic_category(), "getifaddrs failed");
  }
  const std::unique_ptr<ifaddrs, decltype(&freeifaddrs)> owned(list, freeifaddrs);
  std::vector<std::string> out;
  for (const ifaddrs* a = list; a != nullptr; a = a->ifa_next) {
    if (a->ifa_addr == nullptr || a->ifa_addr->sa_family != AF_INET) continue;
    if (exclude == a->ifa_name) continue;
    // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast): the sockets API
    const auto* in = reinterpret_cast<const sockaddr_in*>(a->ifa_addr);
    if (!allowed(in->sin_addr.s_addr, cidrs)) continue;
    std::array<char, INET_ADDRSTRLEN> text{};
    inet_ntop(AF_INET, &in->sin_addr, text.data(), text.size());
    out.emplace_back(text.data());
  }
  return out;
}

}  // namespace kite::proxy::userspace
