#pragma once
// Bridged pod traffic through netfilter, as k3s's agent sets a node up. Pods on one node share
// a bridge: their frames to each other are switched, not routed, so the IP hooks see them only
// with br_netfilter and its net.bridge.bridge-nf-call-iptables / -ip6tables set. Without that,
// NetworkPolicy between two pods of a node is not enforced (table inet kite-netpol, forward
// hook), and a Service reply from a pod on the same bridge escapes conntrack's reverse NAT.
// Debian builds br_netfilter as a module that nothing loads by default.
//
//   if (auto missing = proxy::enableBridgeNetfilter(); !missing.empty()) spdlog::warn(...);

#include <functional>
#include <string>

namespace kite::proxy {

struct BridgeNetfilterOptions {
  // Where the sysctls are (tests point it elsewhere). Writes under /proc/sys/net act in the
  // network namespace of the calling thread.
  std::string procSys = "/proc/sys";
  // Loads br_netfilter; true on success. Default: `modprobe br_netfilter`.
  std::function<bool()> loadModule;
};

// Loads br_netfilter if its sysctls are missing, then sets bridge-nf-call-iptables and
// bridge-nf-call-ip6tables to 1 where they are not. Returns "" when both are 1, else what is
// missing and why (never throws: a node without it still runs, less protected).
std::string enableBridgeNetfilter(const BridgeNetfilterOptions& options = {});

}  // namespace kite::proxy
