#pragma once
// The healthCheckNodePort servers of Services with externalTrafficPolicy Local, as
// kube-proxy serves them: HTTP on every address, any path, answering
//   {"service":{"namespace":"NS","name":"NAME"},"localEndpoints":N}
// with 200 when this node has N > 0 endpoints of the Service and 503 otherwise, so a cloud
// load balancer sends traffic only to nodes that can serve it.

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "kite/proxy/desired_state.h"

namespace kite::proxy {

namespace detail {
class PlainHttpServer;
}

class HealthCheckServers {
 public:
  explicit HealthCheckServers(std::string bindHost = "0.0.0.0");
  ~HealthCheckServers();
  HealthCheckServers(const HealthCheckServers&) = delete;
  HealthCheckServers& operator=(const HealthCheckServers&) = delete;

  // Opens the ports `state` asks for, closes the others, updates the counts. A port that
  // cannot be opened is logged and tried again on the next sync.
  void sync(const DesiredState& state);
  std::size_t listening() const;

 private:
  struct Entry {
    std::string namespace_;
    std::string name;
    std::size_t localEndpoints = 0;
  };
  std::string bindHost_;
  mutable std::mutex mutex_;
  std::map<int, Entry> entries_;  // by port; read by the servers' threads
  std::map<int, std::unique_ptr<detail::PlainHttpServer>> servers_;
};

}  // namespace kite::proxy
