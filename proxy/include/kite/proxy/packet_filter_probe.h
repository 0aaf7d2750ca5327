#pragma once
// Whether the kernel offers kite a usable packet filter, so the agent can fall back to the
// userspace proxy (userspace_dataplane.h) when it does not: nftables missing from the
// kernel, or not permitted (no CAP_NET_ADMIN, a locked-down container).
//
//   if (auto probe = proxy::probeNftables(); !probe.usable) {
//     spdlog::warn("nftables not usable ({}): userspace proxy", probe.reason);
//   }

#include <string>

namespace kite::proxy {

struct NftablesProbe {
  bool usable = false;
  std::string reason;  // nft's or the kernel's words when not usable
};

// Adds and deletes, in one transaction, a scratch table of kite's own naming
// (`inet kite-probe-<pid>`) with what the proxy's table needs (nat chains, a verdict map on
// address . protocol . port, fib, numgen, masquerade), in the network namespace of the
// calling thread. Nothing is ever left behind: the transaction is atomic.
NftablesProbe probeNftables();

}  // namespace kite::proxy
