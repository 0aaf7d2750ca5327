#pragma once
// Text <-> binary IP addresses for netlink attributes.

#include <array>
#include <cstdint>
#include <string>

namespace kite::netlink::detail {

struct BinaryAddress {
  int family = 0;  // AF_INET or AF_INET6
  std::array<std::uint8_t, 16> bytes{};
  std::size_t size() const { return family == 10 /* AF_INET6 */ ? 16 : 4; }
};

// Throws std::invalid_argument naming `field` for anything but an IPv4 or IPv6 address.
BinaryAddress parseAddress(const std::string& text, const std::string& field);
std::string formatAddress(int family, const void* bytes);

// "10.42.1.0/24" -> address and prefix length; throws std::invalid_argument naming `field`.
struct Prefix {
  BinaryAddress address;
  int length = 0;
};
Prefix parsePrefix(const std::string& text, const std::string& field);

}  // namespace kite::netlink::detail
