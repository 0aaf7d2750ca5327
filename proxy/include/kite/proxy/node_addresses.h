#pragma once
// The node's own addresses that NodePorts answer on, for a backend that must list them (the
// eBPF socket programs see a connect's destination, not whether it is local).

#include <string>
#include <vector>

namespace kite::proxy {

// True when `ip` (IPv4 or IPv6 text) lies in `cidr`; false for text that is neither, or a
// CIDR of the other family.
bool cidrContains(const std::string& cidr, const std::string& ip);

// The addresses among `addresses` that NodePorts answer on: not loopback (a pod's loopback is
// its own) nor IPv6 link-local, and within `nodePortCidrs` — per family, as the nftables
// rules apply --nodeport-addresses: a family with no CIDR of its own keeps all its addresses.
std::vector<std::string> nodePortAddressesAmong(const std::vector<std::string>& addresses,
                                                const std::vector<std::string>& nodePortCidrs);

// nodePortAddressesAmong the addresses of this network namespace's interfaces, now.
std::vector<std::string> localNodePortAddresses(const std::vector<std::string>& nodePortCidrs);

}  // namespace kite::proxy
