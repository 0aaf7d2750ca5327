#include "ip_address.h"

#include <arpa/inet.h>

#include <stdexcept>

namespace kite::netlink::detail {

BinaryAddress parseAddress(const std::string& text, const std::string& field) {
  BinaryAddress out;
  if (inet_pton(AF_INET, text.c_str(), out.bytes.data()) == 1) {
    out.family = AF_INET;
  } else if (inet_pton(AF_INET6, text.c_str(), out.bytes.data()) == 1) {
    out.family = AF_INET6;
  } else {
    throw std::invalid_argument(field + ": \"" + text + "\" is not an IP address");
  }
  return out;
}

std::string formatAddress(int family, const void* bytes) {
  std::array<char, INET6_ADDRSTRLEN> buf{};
  if (inet_ntop(family, bytes, buf.data(), buf.size()) == nullptr) return {};
  return buf.data();
}

Prefix parsePrefix(const std::string& text, const std::string& field) {
  const auto slash = text.find('/');
  if (slash == std::string::npos) {
    throw std::invalid_argument(field + ": \"" + text + "\" is not a CIDR (ADDRESS/LENGTH)");
  }
  Prefix out{parseAddress(text.substr(0, slash), field), 0};
  const std::string length = text.substr(slash + 1);
  const int max = out.address.family == AF_INET ? 32 : 128;
  std::size_t end = 0;
  try {
    out.length = std::stoi(length, &end);
  } catch (const std::exception&) {
    end = 0;
  }
  if (end == 0 || end != length.size() || out.length < 0 || out.length > max) {
    throw std::invalid_argument(field + ": \"" + text + "\" has an invalid prefix length");
  }
  return out;
}

}  // namespace kite::netlink::detail
