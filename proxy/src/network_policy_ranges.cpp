// IPv4 address ranges of the NetworkPolicy state (network_policy_state.h): CIDRs parsed,
// merged and cut by `except`, and shown again as text.

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <stdexcept>

#include "kite/proxy/network_policy_state.h"

namespace kite::proxy::netpol {

AddressRange parseCidr(const std::string& cidr) {
  const auto slash = cidr.find('/');
  const std::string address = cidr.substr(0, slash);
  in_addr addr{};
  if (inet_pton(AF_INET, address.c_str(), &addr) != 1) {
    throw std::invalid_argument("invalid CIDR address: \"" + cidr + "\"");
  }
  int bits = 32;
  if (slash != std::string::npos) {
    const std::string len = cidr.substr(slash + 1);
    if (len.empty() || len.size() > 2 || !std::all_of(len.begin(), len.end(), ::isdigit) ||
        (bits = std::stoi(len)) > 32) {
      throw std::invalid_argument("invalid CIDR address: \"" + cidr + "\"");
    }
  }
  const uint32_t mask = bits == 0 ? 0 : UINT32_MAX << (32 - bits);
  const uint32_t base = ntohl(addr.s_addr) & mask;
  return {base, base | ~mask};
}

std::string formatAddress(uint32_t address) {
  return std::to_string(address >> 24) + "." + std::to_string((address >> 16) & 0xff) + "." +
         std::to_string((address >> 8) & 0xff) + "." + std::to_string(address & 0xff);
}

std::vector<AddressRange> mergeRanges(std::vector<AddressRange> ranges) {
  std::sort(ranges.begin(), ranges.end());
  std::vector<AddressRange> out;
  for (const auto& r : ranges) {
    if (!out.empty() && (out.back().last == UINT32_MAX || r.first <= out.back().last + 1)) {
      out.back().last = std::max(out.back().last, r.last);
    } else {
      out.push_back(r);
    }
  }
  return out;
}

std::vector<AddressRange> subtractRange(const std::vector<AddressRange>& from, AddressRange cut) {
  std::vector<AddressRange> out;
  for (const auto& r : from) {
    if (cut.last < r.first || cut.first > r.last) {
      out.push_back(r);
      continue;
    }
    if (cut.first > r.first) out.push_back({r.first, cut.first - 1});
    if (cut.last < r.last) out.push_back({cut.last + 1, r.last});
  }
  return out;
}

}  // namespace kite::proxy::netpol
