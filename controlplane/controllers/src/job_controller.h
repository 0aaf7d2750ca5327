#pragma once
// The Job controller: runs pods until spec.completions succeed (parallelism at a time),
// fails the Job at backoffLimit failures (with exponential back-off between retries) or after
// activeDeadlineSeconds, honours suspend, and deletes finished Jobs after
// ttlSecondsAfterFinished.

#include <memory>

#include "kite/client/shared_informers.h"
#include "kite/controlplane/controllers/controller.h"
#include "kite/controlplane/controllers/workloads.h"

namespace kite::controlplane::controllers {

std::unique_ptr<Controller> makeJobController(
    client::Client& client, const std::shared_ptr<client::SharedInformers>& informers,
    const WorkloadControllerOptions& options);

}  // namespace kite::controlplane::controllers
