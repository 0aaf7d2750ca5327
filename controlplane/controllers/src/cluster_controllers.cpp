#include "cluster_controllers.h"

namespace kite::controlplane::controllers {

std::vector<std::unique_ptr<Controller>> makeClusterControllers(
    client::Client& client, const std::shared_ptr<client::SharedInformers>& informers,
    const ClusterControllerOptions& options) {
  std::vector<std::unique_ptr<Controller>> out;
  out.push_back(newServiceAccountController(client, informers, options));
  out.push_back(newRootCaPublisher(client, informers, options));
  out.push_back(newKubernetesServiceController(client, informers, options));
  out.push_back(newEndpointSliceController(client, informers, options));
  out.push_back(newNodeLifecycleController(client, informers, options));
  out.push_back(newNodeIpamController(client, informers, options));
  out.push_back(newVolumeBinderController(client, informers, options));
  out.push_back(newServiceLbController(client, informers, options));
  return out;
}

std::vector<std::unique_ptr<Controller>> makeClusterControllers(
    client::Client& client, const ClusterControllerOptions& options) {
  return makeClusterControllers(client, std::make_shared<client::SharedInformers>(client), options);
}

}  // namespace kite::controlplane::controllers
