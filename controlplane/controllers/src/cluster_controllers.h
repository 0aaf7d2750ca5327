#pragma once
// The factories of the cluster controllers (cluster.h lists what each does).

#include <memory>

#include "kite/client/client.h"
#include "kite/client/shared_informers.h"
#include "kite/controlplane/controllers/cluster.h"

namespace kite::controlplane::controllers {

std::unique_ptr<Controller> newServiceAccountController(
    client::Client& client, const std::shared_ptr<client::SharedInformers>& informers,
    const ClusterControllerOptions& options);
std::unique_ptr<Controller> newRootCaPublisher(
    client::Client& client, const std::shared_ptr<client::SharedInformers>& informers,
    const ClusterControllerOptions& options);
std::unique_ptr<Controller> newKubernetesServiceController(
    client::Client& client, const std::shared_ptr<client::SharedInformers>& informers,
    const ClusterControllerOptions& options);
std::unique_ptr<Controller> newEndpointSliceController(
    client::Client& client, const std::shared_ptr<client::SharedInformers>& informers,
    const ClusterControllerOptions& options);
std::unique_ptr<Controller> newNodeLifecycleController(
    client::Client& client, const std::shared_ptr<client::SharedInformers>& informers,
    const ClusterControllerOptions& options);
std::unique_ptr<Controller> newNodeIpamController(
    client::Client& client, const std::shared_ptr<client::SharedInformers>& informers,
    const ClusterControllerOptions& options);
std::unique_ptr<Controller> newServiceLbController(
    client::Client& client, const std::shared_ptr<client::SharedInformers>& informers,
    const ClusterControllerOptions& options);
std::unique_ptr<Controller> newVolumeBinderController(
    client::Client& client, const std::shared_ptr<client::SharedInformers>& informers,
    const ClusterControllerOptions& options);

}  // namespace kite::controlplane::controllers
