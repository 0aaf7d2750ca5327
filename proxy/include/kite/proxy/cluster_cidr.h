#pragma once
// `--cluster-cidr` as k3s takes it: one pod range, or an IPv4 and an IPv6 range separated by a
// comma for a dual-stack cluster ("10.42.0.0/16,fd00:42::/56"). The proxy masquerades Service
// traffic from outside the range of the packet's family.

#include <string>

namespace kite::proxy {

struct ClusterCidrs {
  std::string ipv4;  // "" when the value names no IPv4 range
  std::string ipv6;  // "" when the value names no IPv6 range
};

// Throws std::invalid_argument naming `flag` for a part that is not a CIDR of either family,
// or for two ranges of the same family.
ClusterCidrs splitClusterCidrs(const std::string& value,
                               const std::string& flag = "--cluster-cidr");

// True for "ADDRESS/LENGTH" with an IPv4 or IPv6 address and a length that fits it.
bool isCidr(const std::string& text);

}  // namespace kite::proxy
