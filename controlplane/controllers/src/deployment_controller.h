#pragma once
// The Deployment controller: one ReplicaSet per pod template (named
// "<deployment>-<pod-template-hash>"), rolled out by the RollingUpdate or Recreate strategy,
// with revisions, pausing, history cleanup and status conditions as upstream.

#include <memory>

#include "kite/client/shared_informers.h"
#include "kite/controlplane/controllers/controller.h"
#include "kite/controlplane/controllers/workloads.h"

namespace kite::controlplane::controllers {

std::unique_ptr<Controller> makeDeploymentController(
    client::Client& client, const std::shared_ptr<client::SharedInformers>& informers,
    const WorkloadControllerOptions& options);

}  // namespace kite::controlplane::controllers
