#pragma once
// The listeners of one Service port in the userspace proxy, kept in step with its state:
// the ClusterIP (for ClusterIP clients), the externalIPs and LoadBalancer IPs and the
// NodePort (for clients from outside), each only while its kind of client has endpoints.
// A change of endpoints touches the balancers alone; listeners open and close only when
// addresses, ports or the presence of endpoints change, so open connections are kept.

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "kite/proxy/desired_state.h"
#include "userspace_balancer.h"
#include "userspace_event_loop.h"
#include "userspace_socket.h"

namespace kite::proxy::userspace {

struct ForwarderOptions {
  // --nodeport-addresses, both families; a family without CIDRs: a wildcard listener.
  std::vector<Cidr> nodePortAddresses;
  std::string link;  // its addresses are never NodePort addresses
  std::chrono::milliseconds udpIdleTimeout{250};
};

class ServicePortForwarder {
 public:
  ServicePortForwarder(EventLoop& loop, const ForwarderOptions& options);
  ~ServicePortForwarder();
  ServicePortForwarder(const ServicePortForwarder&) = delete;
  ServicePortForwarder& operator=(const ServicePortForwarder&) = delete;

  // Moves to `state` (addresses must be local already); returns one message per listener that
  // could not be made (the others work). Runs as a task of the loop (EventLoop::run).
  std::vector<std::string> apply(const ServicePortState& state);
  const ServicePortState& state() const { return state_; }
  // False when a listener of the state is missing.
  bool complete() const { return complete_; }
  void tick(Clock::time_point now);

 private:
  EventLoop& loop_;
  const ForwarderOptions& options_;
  ServicePortState state_;
  bool complete_ = false;
  std::shared_ptr<Balancer> internal_ = std::make_shared<Balancer>();
  std::shared_ptr<Balancer> external_ = std::make_shared<Balancer>();
  // "address:port external ranges..." -> its listener.
  std::map<std::string, std::unique_ptr<EventLoop::Handler>> listeners_;
};

}  // namespace kite::proxy::userspace
