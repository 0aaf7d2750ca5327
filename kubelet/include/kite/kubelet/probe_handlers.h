#pragma once
// The four ways a probe or lifecycle hook checks a container, each bounded by
// a timeout. Results carry upstream's wording in `output`, which becomes the
// "Unhealthy" event message users read in `kubectl describe pod`.

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "kite/cri/runtime.h"

namespace kite::kubelet {

enum class ProbeResult { kSuccess, kFailure, kUnknown };

struct ProbeOutcome {
  ProbeResult result = ProbeResult::kUnknown;
  std::string output;
};

using Timeout = std::chrono::milliseconds;

// exec: success when the command exits 0 (runs through CRI ExecSync).
ProbeOutcome probeExec(cri::Runtime& runtime, const std::string& containerId,
                       const std::vector<std::string>& command, Timeout timeout);

// tcpSocket: success when a TCP connection can be opened.
ProbeOutcome probeTcp(const std::string& host, int port, Timeout timeout);

// httpGet: success for a status in [200, 400). `scheme` is "HTTP" or "HTTPS"
// (HTTPS does not verify the certificate, as upstream).
ProbeOutcome probeHttp(const std::string& scheme, const std::string& host, int port,
                       const std::string& path,
                       const std::multimap<std::string, std::string>& headers, Timeout timeout);

// grpc: success when grpc.health.v1.Health/Check answers SERVING.
ProbeOutcome probeGrpc(const std::string& host, int port, const std::string& service,
                       Timeout timeout);

}  // namespace kite::kubelet
