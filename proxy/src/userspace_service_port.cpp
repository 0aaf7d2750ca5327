#include "userspace_service_port.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <exception>

#include "userspace_tcp_listener.h"
#include "userspace_udp_listener.h"

namespace kite::proxy::userspace {

namespace {

struct ListenerSpec {
  std::string ip;
  int port = 0;
  bool external = false;
  std::vector<std::string> sourceRanges;

  std::string key() const {
    std::string k = ip + ":" + std::to_string(port) + (external ? " external" : " internal");
    for (const auto& r : sourceRanges) k += " " + r;
    return k;
  }
};

}  // namespace

ServicePortForwarder::ServicePortForwarder(EventLoop& loop, const ForwarderOptions& options)
    : loop_(loop), options_(options) {}

ServicePortForwarder::~ServicePortForwarder() {
  for (auto& [key, listener] : listeners_) loop_.retire(std::move(listener));
}

std::vector<std::string> ServicePortForwarder::apply(const ServicePortState& state) {
  state_ = state;
  const auto local = state.localEndpoints();
  const auto& internalEndpoints = state.internalPolicyLocal ? local : state.endpoints;
  const auto& externalEndpoints = state.externalPolicyLocal ? local : state.endpoints;
  internal_->update(internalEndpoints, state.affinityTimeoutSeconds);
  external_->update(externalEndpoints, state.affinityTimeoutSeconds);

  std::vector<std::string> errors;
  const bool tcp = state.protocol == "tcp";
  if (!tcp && state.protocol != "udp") {
    // SCTP has no userspace relay here: said once per change of the port, nothing to retry.
    spdlog::warn("userspace proxy: {}: {} is not relayed in userspace mode", state.key(),
                 state.protocol);
    complete_ = true;
    for (auto& [key, listener] : listeners_) loop_.retire(std::move(listener));
    listeners_.clear();
    return errors;
  }
  std::vector<ListenerSpec> wanted;
  if (!internal_->empty()) wanted.push_back({state.clusterIP, state.port, false, {}});
  if (!external_->empty()) {
    for (const auto& ip : state.externalIPs) {
      const bool balancer = std::find(state.loadBalancerIPs.begin(), state.loadBalancerIPs.end(),
                                      ip) != state.loadBalancerIPs.end();
      wanted.push_back({ip, state.port, true,
                        balancer ? state.loadBalancerSourceRanges : std::vector<std::string>{}});
    }
    if (state.nodePort != 0) {
      // --nodeport-addresses per family, as upstream: a family without CIDRs of its own
      // listens on all its addresses.
      const bool ipv6 = state.isIPv6();
      if (!hasFamily(options_.nodePortAddresses, ipv6)) {
        wanted.push_back({ipv6 ? "::" : "0.0.0.0", state.nodePort, true, {}});
      } else {
        try {
          for (const auto& ip : localAddresses(options_.nodePortAddresses, ipv6, options_.link)) {
            wanted.push_back({ip, state.nodePort, true, {}});
          }
        } catch (const std::exception& e) {
          errors.emplace_back(e.what());
        }
      }
    }
  }

  std::map<std::string, const ListenerSpec*> byKey;
  for (const auto& spec : wanted) byKey.emplace(spec.key(), &spec);
  const auto now = Clock::now();
  for (auto it = listeners_.begin(); it != listeners_.end();) {
    if (byKey.contains(it->first)) {
      // UDP flows to endpoints that left end now, not at the next tick.
      it->second->onTick(now);
      ++it;
    } else {
      // Closed at once, not retired: a listener that replaces it (other source ranges) needs
      // the port now. Safe here: apply runs as a task of the loop, after its round of events,
      // so no event of this round can still reach it.
      it = listeners_.erase(it);
    }
  }
  for (const auto& [key, spec] : byKey) {
    if (listeners_.contains(key)) continue;
    const bool v6 = spec->ip.find(':') != std::string::npos;
    const std::string what = state.key() + " on " + (v6 ? "[" + spec->ip + "]" : spec->ip) + ":" +
                             std::to_string(spec->port);
    try {
      std::vector<Cidr> ranges;
      for (const auto& r : spec->sourceRanges) {
        ranges.push_back(parseCidr(r, "loadBalancerSourceRanges"));
      }
      auto balancer = spec->external ? external_ : internal_;
      if (tcp) {
        listeners_.emplace(key, std::make_unique<TcpListener>(loop_, spec->ip, spec->port, balancer,
                                                              std::move(ranges)));
      } else {
        listeners_.emplace(
            key, std::make_unique<UdpListener>(loop_, spec->ip, spec->port, balancer,
                                               options_.udpIdleTimeout, std::move(ranges)));
      }
    } catch (const std::exception& e) {
      errors.push_back(what + ": " + e.what());
    }
  }
  complete_ = errors.empty();
  return errors;
}

void ServicePortForwarder::tick(Clock::time_point now) {
  internal_->prune(now);
  external_->prune(now);
  for (auto& [key, listener] : listeners_) listener->onTick(now);
}

}  // namespace kite::proxy::userspace
