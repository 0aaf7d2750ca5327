#include "cluster_controllers.h"

namespace kite::controlplane::controllers {

std::vector<std::unique_ptr<Controller>> makeClusterControllers(
    client::Client& client, const ClusterControllerOptions& options) {
  std::vector<std::unique_ptr<Controller>> out;
  out.push_back(newServiceAccountController(client, options));
  out.push_back(newRootCaPublisher(client, options));
  out.push_back(newKubernetesServiceController(client, options));
  out.push_back(newEndpointSliceController(client, options));
  out.push_back(newNodeLifecycleController(client, options));
  out.push_back(newNodeIpamController(client, options));
  out.push_back(newVolumeBinderController(client, options));
  out.push_back(newServiceLbController(client, options));
  return out;
}

}  // namespace kite::controlplane::controllers
