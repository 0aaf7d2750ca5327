#pragma once
// kube-proxy's own endpoints: --healthz-bind-address (default 0.0.0.0:10256) serves
// /healthz and /livez: 200 with {"lastUpdated":...,"currentTime":...,"nodeEligible":true}
// while syncs succeed (the last one less than two sync periods ago), 503 otherwise;
// --metrics-bind-address (default 127.0.0.1:10249) serves /metrics (SyncMetrics) and
// /healthz. An empty address turns that server off.

#include <chrono>
#include <memory>
#include <string>

#include "kite/proxy/sync_metrics.h"

namespace kite::proxy {

namespace detail {
class PlainHttpServer;
}

class StatusServers {
 public:
  // Throws std::invalid_argument naming the flag for a malformed address; a port already
  // taken is logged (as kube-proxy does) and that server stays off.
  StatusServers(const std::string& healthzAddress, const std::string& metricsAddress,
                const SyncMetrics& metrics, std::chrono::milliseconds syncPeriod);
  ~StatusServers();
  StatusServers(const StatusServers&) = delete;
  StatusServers& operator=(const StatusServers&) = delete;

 private:
  std::unique_ptr<detail::PlainHttpServer> healthz_;
  std::unique_ptr<detail::PlainHttpServer> metrics_;
};

}  // namespace kite::proxy
