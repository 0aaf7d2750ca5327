// Address ranges of the NetworkPolicy state (network_policy_state.h), IPv4 and IPv6: CIDRs
// parsed, merged and cut by `except`, and shown again as text.

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdint>
#include <stdexcept>

#include "kite/proxy/network_policy_state.h"

namespace kite::proxy::netpol {

namespace {

// The prefix length after the '/' of `cidr` (`maxBits` when there is none).
int prefixLength(const std::string& cidr, std::size_t slash, int maxBits) {
  if (slash == std::string::npos) return maxBits;
  const std::string len = cidr.substr(slash + 1);
  if (len.empty() || len.size() > (maxBits > 99 ? 3U : 2U) ||
      !std::all_of(len.begin(), len.end(), ::isdigit) || std::stoi(len) > maxBits) {
    throw std::invalid_argument("invalid CIDR address: \"" + cidr + "\"");
  }
  return std::stoi(len);
}

// The largest address: every bit set.
template <class A>
constexpr A allOnes() {
  return static_cast<A>(~A{0});
}

template <class A>
std::vector<Range<A>> merged(std::vector<Range<A>> ranges) {
  std::sort(ranges.begin(), ranges.end());
  std::vector<Range<A>> out;
  for (const auto& r : ranges) {
    if (!out.empty() && (out.back().last == allOnes<A>() || r.first <= out.back().last + 1)) {
      out.back().last = std::max(out.back().last, r.last);
    } else {
      out.push_back(r);
    }
  }
  return out;
}

template <class A>
std::vector<Range<A>> subtracted(const std::vector<Range<A>>& from, Range<A> cut) {
  std::vector<Range<A>> out;
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

}  // namespace

bool isIPv6(const std::string& address) { return address.find(':') != std::string::npos; }

AddressRange parseCidr(const std::string& cidr) {
  const auto slash = cidr.find('/');
  const std::string address = cidr.substr(0, slash);
  in_addr addr{};
  if (inet_pton(AF_INET, address.c_str(), &addr) != 1) {
    throw std::invalid_argument("invalid CIDR address: \"" + cidr + "\"");
  }
  const int bits = prefixLength(cidr, slash, 32);
  const uint32_t mask = bits == 0 ? 0 : UINT32_MAX << (32 - bits);
  const uint32_t base = ntohl(addr.s_addr) & mask;
  return {base, base | ~mask};
}

Address6Range parseCidr6(const std::string& cidr) {
  const auto slash = cidr.find('/');
  const std::string address = cidr.substr(0, slash);
  std::array<unsigned char, 16> bytes{};
  if (!isIPv6(address) || inet_pton(AF_INET6, address.c_str(), bytes.data()) != 1) {
    throw std::invalid_argument("invalid CIDR address: \"" + cidr + "\"");
  }
  const int bits = prefixLength(cidr, slash, 128);
  Ipv6Address value = 0;
  for (const unsigned char b : bytes) value = (value << 8U) | b;
  const Ipv6Address mask =
      bits == 0 ? 0 : allOnes<Ipv6Address>() << (128U - static_cast<unsigned>(bits));
  const Ipv6Address base = value & mask;
  return {base, base | static_cast<Ipv6Address>(~mask)};
}

std::string formatAddress(uint32_t address) {
  return std::to_string(address >> 24) + "." + std::to_string((address >> 16) & 0xff) + "." +
         std::to_string((address >> 8) & 0xff) + "." + std::to_string(address & 0xff);
}

std::string formatAddress6(Ipv6Address address) {
  std::array<unsigned char, 16> bytes{};
  for (auto it = bytes.rbegin(); it != bytes.rend(); ++it) {
    *it = static_cast<unsigned char>(address & 0xffU);
    address >>= 8U;
  }
  std::array<char, INET6_ADDRSTRLEN> text{};
  inet_ntop(AF_INET6, bytes.data(), text.data(), text.size());
  return text.data();
}

std::vector<AddressRange> mergeRanges(std::vector<AddressRange> ranges) {
  return merged(std::move(ranges));
}
std::vector<Address6Range> mergeRanges(std::vector<Address6Range> ranges) {
  return merged(std::move(ranges));
}

std::vector<AddressRange> subtractRange(const std::vector<AddressRange>& from, AddressRange cut) {
  return subtracted(from, cut);
}
std::vector<Address6Range> subtractRange(const std::vector<Address6Range>& from,
                                         Address6Range cut) {
  return subtracted(from, cut);
}

}  // namespace kite::proxy::netpol
