#pragma once
// The Service environment variables upstream gives every container:
// <NAME>_SERVICE_HOST, <NAME>_SERVICE_PORT(_<PORT>) and the docker-link style
// <NAME>_PORT, <NAME>_PORT_<port>_<PROTO>(_PROTO|_PORT|_ADDR), for every
// Service of the pod's namespace when enableServiceLinks (the default), and
// for the API server's own Service (default/kubernetes) always.

#include <memory>
#include <string>
#include <vector>

#include "kite/api/core/v1/types.h"
#include "kite/client/informer.h"
#include "kite/kubelet/container_env.h"

namespace kite::kubelet {

// The variables of these services, sorted by name. Headless services (no cluster IP) have none.
EnvList serviceEnvVars(const std::vector<api::core::v1::Service>& services);

// The services a pod sees: its namespace's (with service links) and default/kubernetes.
std::vector<api::core::v1::Service> servicesVisibleTo(
    const std::vector<std::shared_ptr<const api::core::v1::Service>>& all, const std::string& ns,
    bool enableServiceLinks);

// Services from an informer over every namespace.
class ServiceEnvSource {
 public:
  explicit ServiceEnvSource(client::Client& client);
  void start();
  void stop();
  bool waitForSync(std::chrono::milliseconds timeout) const;
  EnvList forPod(const std::string& ns, bool enableServiceLinks) const;

 private:
  client::Informer<api::core::v1::Service> informer_;
};

}  // namespace kite::kubelet
