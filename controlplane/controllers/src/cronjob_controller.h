#pragma once
// The CronJob controller: creates a Job "<cronjob>-<minutes since epoch>" at each scheduled
// time (concurrencyPolicy Allow/Forbid/Replace, suspend, startingDeadlineSeconds), keeps
// status.active and lastScheduleTime/lastSuccessfulTime, and prunes finished Jobs beyond the
// history limits.

#include <memory>

#include "kite/client/shared_informers.h"
#include "kite/controlplane/controllers/controller.h"
#include "kite/controlplane/controllers/workloads.h"

namespace kite::controlplane::controllers {

std::unique_ptr<Controller> makeCronJobController(
    client::Client& client, const std::shared_ptr<client::SharedInformers>& informers,
    const WorkloadControllerOptions& options);

}  // namespace kite::controlplane::controllers
