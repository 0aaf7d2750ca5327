#include "kite/proxy/node_addresses.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <memory>
#include <optional>
#include <system_error>

namespace kite::proxy {

namespace {

// An address as 16 bytes (IPv4 in the first 4) and its family.
struct Address {
  bool v6 = false;
  std::array<unsigned char, 16> bytes{};
};

std::optional<Address> parseAddress(const std::string& text) {
  Address a;
  if (inet_pton(AF_INET, text.c_str(), a.bytes.data()) == 1) return a;
  a.v6 = true;
  if (inet_pton(AF_INET6, text.c_str(), a.bytes.data()) == 1) return a;
  return std::nullopt;
}

bool isLoopbackOrLinkLocal(const Address& a) {
  if (!a.v6) return a.bytes[0] == 127;
  static constexpr std::array<unsigned char, 16> kLoopback6{0, 0, 0, 0, 0, 0, 0, 0,
                                                            0, 0, 0, 0, 0, 0, 0, 1};
  return a.bytes == kLoopback6 || (a.bytes[0] == 0xfe && (a.bytes[1] & 0xc0U) == 0x80);
}

bool isV6Text(const std::string& text) { return text.find(':') != std::string::npos; }

}  // namespace

bool cidrContains(const std::string& cidr, const std::string& ip) {
  const auto slash = cidr.find('/');
  if (slash == std::string::npos) return false;
  const auto network = parseAddress(cidr.substr(0, slash));
  const auto address = parseAddress(ip);
  if (!network || !address || network->v6 != address->v6) return false;
  int length = -1;
  const char* first = cidr.data() + slash + 1;
  const char* last = cidr.data() + cidr.size();
  if (const auto [end, error] = std::from_chars(first, last, length);
      error != std::errc() || end != last || length < 0 || length > (network->v6 ? 128 : 32)) {
    return false;
  }
  for (int bit = 0; bit < length; bit += 8) {
    const auto index = static_cast<std::size_t>(bit / 8);
    const int bits = std::min(8, length - bit);
    const auto mask = static_cast<unsigned char>(0xffU << static_cast<unsigned>(8 - bits));
    if ((network->bytes.at(index) & mask) != (address->bytes.at(index) & mask)) return false;
  }
  return true;
}

std::vector<std::string> nodePortAddressesAmong(const std::vector<std::string>& addresses,
                                                const std::vector<std::string>& nodePortCidrs) {
  const bool v4Cidrs = std::any_of(nodePortCidrs.begin(), nodePortCidrs.end(),
                                   [](const std::string& c) { return !isV6Text(c); });
  const bool v6Cidrs = std::any_of(nodePortCidrs.begin(), nodePortCidrs.end(), isV6Text);
  std::vector<std::string> out;
  for (const auto& text : addresses) {
    const auto address = parseAddress(text);
    if (!address || isLoopbackOrLinkLocal(*address)) continue;
    const bool restricted = address->v6 ? v6Cidrs : v4Cidrs;
    if (restricted && std::none_of(nodePortCidrs.begin(), nodePortCidrs.end(),
                                   [&](const std::string& c) { return cidrContains(c, text); })) {
      continue;
    }
    out.push_back(text);
  }
  return out;
}

std::vector<std::string> localNodePortAddresses(const std::vector<std::string>& nodePortCidrs) {
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) {
    throw std::system_error(errno, std::generic_category(), "getifaddrs failed");
  }
  const std::unique_ptr<ifaddrs, decltype(&freeifaddrs)> owned(list, freeifaddrs);
  std::vector<std::string> all;
  for (const ifaddrs* a = list; a != nullptr; a = a->ifa_next) {
    if (a->ifa_addr == nullptr) continue;
    std::array<char, INET6_ADDRSTRLEN> text{};
    const void* raw = nullptr;
    const int family = a->ifa_addr->sa_family;
    // NOLINTBEGIN(cppcoreguidelines-pro-type-reinterpret-cast): the sockets API
    if (family == AF_INET) raw = &reinterpret_cast<const sockaddr_in*>(a->ifa_addr)->sin_addr;
    if (family == AF_INET6) raw = &reinterpret_cast<const sockaddr_in6*>(a->ifa_addr)->sin6_addr;
    // NOLINTEND(cppcoreguidelines-pro-type-reinterpret-cast)
    if (raw == nullptr || inet_ntop(family, raw, text.data(), text.size()) == nullptr) continue;
    if (std::find(all.begin(), all.end(), text.data()) == all.end()) all.emplace_back(text.data());
  }
  return nodePortAddressesAmong(all, nodePortCidrs);
}

}  // namespace kite::proxy
