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

// The shared set of endpoint addresses whose traffic to themselves is masqueraded.
inline constexpr const char* kHairpinSet = "hairpin";

}  // namespace kite::proxy::nft::text
