#include "kite/controlplane/controllers/workloads.h"

#include "cronjob_controller.h"
#include "daemonset_controller.h"
#include "deployment_controller.h"
#include "garbage_collector.h"
#include "job_controller.h"
#include "pod_gc_controller.h"
#include "replicaset_controller.h"
#include "statefulset_controller.h"

namespace kite::controlplane::controllers {

std::vector<std::unique_ptr<Controller>> makeWorkloadControllers(
    client::Client& client, const std::shared_ptr<client::SharedInformers>& informers,
    const WorkloadControllerOptions& options) {
  std::vector<std::unique_ptr<Controller>> out;
  out.push_back(makeReplicaSetController(client, informers, options));
  out.push_back(makeDeploymentController(client, informers, options));
  out.push_back(makeGarbageCollector(client, options));
  out.push_back(makePodGcController(client, informers, options));
  out.push_back(makeJobController(client, informers, options));
  out.push_back(makeCronJobController(client, informers, options));
  out.push_back(makeDaemonSetController(client, informers, options));
  out.push_back(makeStatefulSetController(client, informers, options));
  return out;
}

std::vector<std::unique_ptr<Controller>> makeWorkloadControllers(
    client::Client& client, const WorkloadControllerOptions& options) {
  return makeWorkloadControllers(client, std::make_shared<client::SharedInformers>(client),
                                 options);
}

}  // namespace kite::controlplane::controllers
