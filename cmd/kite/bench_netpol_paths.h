#pragma once
// The traffic of `kite bench netpol`: which (source, destination) pairs a netpol::State allows,
// a sample of allowed and denied pairs, and timed TCP connects over them from the client
// namespace, each bound to its source address (the client owns kPeerCidr through a local
// route, so one process speaks for every peer pod and every ipBlock address).

#include <cstdint>
#include <string>
#include <vector>

#include "bench_measure.h"
#include "kite/proxy/network_policy_state.h"

namespace kite::cmd::bench {

struct Path {
  std::string source;
  std::string destination;  // port kPolicyPort, TCP
};

// What upstream's semantics say of TCP `port` from `source` to `destination`, read off the
// state alone (independent of any dataplane): allowed unless the destination is isolated for
// ingress and no rule of a policy isolating it admits the source and port.
bool stateAllows(const proxy::netpol::State& state, std::uint32_t source, std::uint32_t destination,
                 int port);

struct NetpolPaths {
  std::vector<Path> allowed;  // to isolated pods, through some policy's rule
  std::vector<Path> denied;   // to isolated pods, from sources no rule admits
};

// Random pairs with sources in kPeerCidr and destinations among the isolated pods; throws
// when the state isolates no pod or admits nothing on kPolicyPort.
NetpolPaths samplePaths(const proxy::netpol::State& state, int allowed, int denied,
                        std::uint32_t seed);

struct PathResults {
  ConnectLatency allowed;  // succeeded/attempted and the latency of those that succeeded
  int deniedRefused = 0;   // denied paths whose connect failed (reset or timeout)
  int deniedAttempted = 0;
};

// Connects over every path from the namespace at `clientNsPath` on a thread of its own.
PathResults measurePaths(const std::string& clientNsPath, const NetpolPaths& paths);

}  // namespace kite::cmd::bench
