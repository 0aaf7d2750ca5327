#include "kite/proxy/health_check_servers.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>
#include <utility>

#include "plain_http_server.h"

namespace kite::proxy {

namespace {

// JSON string contents (namespace and Service names are DNS labels; escape anyway).
std::string escaped(const std::string& s) {
  std::string out;
  for (const char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

}  // namespace

HealthCheckServers::HealthCheckServers(std::string bindHost) : bindHost_(std::move(bindHost)) {}

HealthCheckServers::~HealthCheckServers() {
  servers_.clear();  // joins the threads before entries_ goes
}

void HealthCheckServers::sync(const DesiredState& state) {
  std::map<int, Entry> wanted;
  // Per family: a dual-stack pod is one endpoint with an address in each (upstream counts a
  // family's endpoints, not both together).
  std::map<std::pair<int, bool>, std::set<std::string>> localIPs;
  for (const auto& [key, port] : state.services) {
    if (!port.externalPolicyLocal || port.healthCheckNodePort <= 0) continue;
    auto& entry = wanted[port.healthCheckNodePort];
    entry.namespace_ = port.namespace_;
    entry.name = port.name;
    auto& ips = localIPs[{port.healthCheckNodePort, port.isIPv6()}];
    for (const auto& e : port.localEndpoints()) ips.insert(e.ip);
  }
  for (auto& [port, entry] : wanted) {
    entry.localEndpoints = std::max(localIPs[{port, false}].size(), localIPs[{port, true}].size());
  }
  {
    std::lock_guard lock(mutex_);
    entries_ = wanted;
  }
  std::erase_if(servers_, [&](const auto& server) { return !wanted.contains(server.first); });
  for (const auto& [port, entry] : wanted) {
    if (servers_.contains(port)) continue;
    const std::string what = "healthCheckNodePort of " + entry.namespace_ + "/" + entry.name;
    try {
      const int p = port;
      servers_[port] = std::make_unique<detail::PlainHttpServer>(
          what, bindHost_ + ":" + std::to_string(port),
          std::vector<std::pair<std::string, detail::PlainHttpServer::Handler>>{
              {".*", [this, p] {
                 std::lock_guard lock(mutex_);
                 const auto it = entries_.find(p);
                 if (it == entries_.end()) return detail::PlainResponse{.status = 503};
                 const auto& e = it->second;
                 return detail::PlainResponse{
                     .status = e.localEndpoints > 0 ? 200 : 503,
                     .contentType = "application/json",
                     .body = "{\"service\":{\"namespace\":\"" + escaped(e.namespace_) +
                             "\",\"name\":\"" + escaped(e.name) +
                             "\"},\"localEndpoints\":" + std::to_string(e.localEndpoints) + "}"};
               }}});
    } catch (const std::exception& e) {
      spdlog::warn("proxy: {}", e.what());
    }
  }
}

std::size_t HealthCheckServers::listening() const { return servers_.size(); }

}  // namespace kite::proxy
