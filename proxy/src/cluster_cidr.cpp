#include "kite/proxy/cluster_cidr.h"

#include <arpa/inet.h>

#include <array>
#include <charconv>
#include <stdexcept>
#include <string_view>

namespace kite::proxy {

namespace {

// The prefix length's bound for the address's family: 32, 128, or 0 when it is no address.
int maxPrefixFor(const std::string& address) {
  std::array<unsigned char, 16> buffer{};
  if (inet_pton(AF_INET, address.c_str(), buffer.data()) == 1) return 32;
  if (inet_pton(AF_INET6, address.c_str(), buffer.data()) == 1) return 128;
  return 0;
}

}  // namespace

bool isCidr(const std::string& text) {
  const auto slash = text.find('/');
  if (slash == std::string::npos) return false;
  const int maxPrefix = maxPrefixFor(text.substr(0, slash));
  if (maxPrefix == 0) return false;
  const std::string_view length = std::string_view(text).substr(slash + 1);
  int value = -1;
  const auto [end, error] = std::from_chars(length.data(), length.data() + length.size(), value);
  return error == std::errc() && end == length.data() + length.size() && !length.empty() &&
         value >= 0 && value <= maxPrefix;
}

ClusterCidrs splitClusterCidrs(const std::string& value, const std::string& flag) {
  ClusterCidrs out;
  if (value.empty()) return out;
  std::size_t start = 0;
  for (bool last = false; !last;) {
    const auto comma = value.find(',', start);
    last = comma == std::string::npos;
    const std::string part = value.substr(start, last ? std::string::npos : comma - start);
    start = comma + 1;
    if (!isCidr(part)) {
      throw std::invalid_argument(std::string(flag).append(": \"").append(part).append(
          "\" is not a CIDR (e.g. 10.42.0.0/16 or fd00:42::/56)"));
    }
    std::string& slot = part.find(':') == std::string::npos ? out.ipv4 : out.ipv6;
    if (!slot.empty()) {
      throw std::invalid_argument(std::string(flag).append(": \"").append(value).append(
          "\" names two ranges of one family (at most one IPv4 and one IPv6)"));
    }
    slot = part;
  }
  return out;
}

}  // namespace kite::proxy
