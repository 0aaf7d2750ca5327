#include "kite/proxy/status_servers.h"

#include <spdlog/spdlog.h>

#include <array>
#include <ctime>
#include <stdexcept>
#include <vector>

#include "plain_http_server.h"

namespace kite::proxy {

namespace {

std::string rfc3339(std::chrono::system_clock::time_point t) {
  const std::time_t seconds = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  std::array<char, 32> buf{};
  std::strftime(buf.data(), buf.size(), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf.data();
}

detail::PlainResponse healthz(const SyncMetrics& metrics, std::chrono::milliseconds syncPeriod) {
  const auto now = std::chrono::system_clock::now();
  const auto last = metrics.lastSync();
  const bool healthy = last && now - *last < 2 * syncPeriod;
  return {.status = healthy ? 200 : 503,
          .contentType = "application/json",
          .body = "{\"lastUpdated\":\"" + (last ? rfc3339(*last) : std::string()) +
                  "\",\"currentTime\":\"" + rfc3339(now) + "\",\"nodeEligible\":true}"};
}

}  // namespace

StatusServers::StatusServers(const std::string& healthzAddress, const std::string& metricsAddress,
                             const SyncMetrics& metrics, std::chrono::milliseconds syncPeriod) {
  using Routes = std::vector<std::pair<std::string, detail::PlainHttpServer::Handler>>;
  const auto health = [&metrics, syncPeriod] { return healthz(metrics, syncPeriod); };
  // A port already taken is logged, not fatal (as kube-proxy): the proxy works without.
  if (!healthzAddress.empty()) {
    detail::splitHostPort("--healthz-bind-address", healthzAddress);
    try {
      healthz_ = std::make_unique<detail::PlainHttpServer>(
          "--healthz-bind-address", healthzAddress,
          Routes{{"/healthz", health}, {"/livez", health}});
    } catch (const std::runtime_error& e) {
      spdlog::error("proxy: {}", e.what());
    }
  }
  if (!metricsAddress.empty()) {
    detail::splitHostPort("--metrics-bind-address", metricsAddress);
    try {
      metrics_ = std::make_unique<detail::PlainHttpServer>(
          "--metrics-bind-address", metricsAddress,
          Routes{{"/metrics",
                  [&metrics] {
                    return detail::PlainResponse{
                        .contentType = "text/plain; version=0.0.4; charset=utf-8",
                        .body = metrics.prometheusText()};
                  }},
                 {"/healthz", health}});
    } catch (const std::runtime_error& e) {
      spdlog::error("proxy: {}", e.what());
    }
  }
}

StatusServers::~StatusServers() = default;

}  // namespace kite::proxy
