#pragma once
// Helpers shared by nft_rules.cpp (the base of the table and one Service port's part) and
// nft_rules_sync.cpp (the whole table, and the differences between two states).

#include <sstream>
#include <string>
#include <vector>

#include "kite/proxy/nft_rules.h"

namespace kite::proxy::nft::text {

// "inet kite-proxy".
inline std::string prefix() { return std::string(kFamily) + " " + kTable; }

// One command line from its parts.
template <class... Parts>
void line(std::ostringstream& out, const Parts&... parts) {
  (out << ... << parts);
  out << "\n";
}

// "a, b" from a list.
template <class Range>
std::string joined(const Range& items) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += ", ";
    out += item;
  }
  return out;
}

// The maps, sets and base chains every table has, whatever the Services.
void renderBase(std::ostringstream& out, const RulesOptions& options);

// The shared set of endpoint addresses whose traffic to themselves is masqueraded ("hairpin6"
// for IPv6).
inline constexpr const char* kHairpinSet = "hairpin";

// What differs between the IPv4 and the IPv6 half of the table: the address match keyword,
// the suffix of the family's maps, sets and shared chains ("service-ips" / "service-ips6",
// "cluster-2" / "cluster6-2"), and the address type.
struct Family {
  const char* ip;
  const char* suffix;
  const char* addressType;
  bool v6;
};
inline constexpr Family kIPv4{"ip", "", "ipv4_addr", false};
inline constexpr Family kIPv6{"ip6", "6", "ipv6_addr", true};
inline const Family& familyOf(const std::string& address) {
  return address.find(':') != std::string::npos ? kIPv6 : kIPv4;
}
// "service-ips" + "6".
inline std::string named(const char* base, const Family& f) { return std::string(base) + f.suffix; }

}  // namespace kite::proxy::nft::text
