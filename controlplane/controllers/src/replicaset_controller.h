#pragma once
// The ReplicaSet controller: keeps spec.replicas active pods from the template, adopts
// matching orphans, deletes the surplus in upstream's order, and writes status.

#include <memory>

#include "kite/client/shared_informers.h"
#include "kite/controlplane/controllers/controller.h"
#include "kite/controlplane/controllers/workloads.h"

namespace kite::controlplane::controllers {

std::unique_ptr<Controller> makeReplicaSetController(
    client::Client& client, const std::shared_ptr<client::SharedInformers>& informers,
    const WorkloadControllerOptions& options);

}  // namespace kite::controlplane::controllers
