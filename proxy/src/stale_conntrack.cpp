// The UDP conntrack entries a sync leaves stale (stale_conntrack.h says which and why).

#include "kite/proxy/stale_conntrack.h"

namespace kite::proxy {

namespace {

std::set<std::pair<std::string, std::uint16_t>> endpointsOf(const ServicePortState& port) {
  std::set<std::pair<std::string, std::uint16_t>> out;
  for (const auto& e : port.endpoints) out.emplace(e.ip, static_cast<std::uint16_t>(e.port));
  return out;
}

}  // namespace

StaleConntrack::StaleConntrack(const DesiredState* applied, const DesiredState& next) {
  for (const auto& [key, port] : next.services) {
    if (port.protocol != "udp") continue;
    if (applied != nullptr) {
      const auto it = applied->services.find(key);
      if (it != applied->services.end() && it->second == port) continue;
    }
    watch(port, endpointsOf(port));
  }
  if (applied == nullptr) return;
  for (const auto& [key, port] : applied->services) {
    // A Service port that went away: nothing may keep reaching its old endpoints.
    if (port.protocol == "udp" && !next.services.contains(key)) watch(port, {});
  }
}

void StaleConntrack::watch(const ServicePortState& port, const Endpoints& current) {
  const auto servicePort = static_cast<std::uint16_t>(port.port);
  const bool v6 = port.isIPv6();
  (v6 ? ipv6_ : ipv4_) = true;
  byAddress_[{port.clusterIP, servicePort}].insert(current.begin(), current.end());
  for (const auto& ip : port.externalIPs) {
    byAddress_[{ip, servicePort}].insert(current.begin(), current.end());
  }
  if (port.nodePort > 0) {
    byNodePort_[{v6, static_cast<std::uint16_t>(port.nodePort)}].insert(current.begin(),
                                                                        current.end());
  }
}

bool StaleConntrack::matches(const std::string& originalDestination,
                             std::uint16_t originalDestinationPort, const std::string& replySource,
                             std::uint16_t replySourcePort) const {
  const std::pair<std::string, std::uint16_t> endpoint{replySource, replySourcePort};
  const auto it = byAddress_.find({originalDestination, originalDestinationPort});
  if (it != byAddress_.end()) return !it->second.contains(endpoint);
  const bool v6 = originalDestination.find(':') != std::string::npos;
  const auto nodePort = byNodePort_.find({v6, originalDestinationPort});
  return nodePort != byNodePort_.end() && !nodePort->second.contains(endpoint);
}

}  // namespace kite::proxy
