#pragma once
// Name checks with upstream's messages: DNS-1123 labels and subdomains, and the random
// suffix of generateName.

#include <string>
#include <string_view>

namespace kite::controlplane::apiserver {

// "" when valid, otherwise upstream's explanation.
std::string checkDnsLabel(std::string_view name);
std::string checkDnsSubdomain(std::string_view name);
// Upstream's path-segment rule (RBAC names such as "system:node"): not "." or "..", no '/'
// or '%'.
std::string checkPathSegment(std::string_view name);
// generateName + 5 random characters from upstream's alphabet (no vowels, no look-alikes).
std::string generateNameFrom(std::string_view prefix);

}  // namespace kite::controlplane::apiserver
