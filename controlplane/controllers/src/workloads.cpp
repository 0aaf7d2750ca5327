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
    client::Client& client, const WorkloadControllerOptions& options) {
  std::vector<std::unique_ptr<Controller>> out;
  out.push_back(makeReplicaSetController(client, options));
  out.push_back(makeDeploymentController(client, options));
  out.push_back(makeGarbageCollector(client, options));
  out.push_back(makePodGcController(client, options));
  out.push_back(makeJobController(client, options));
  out.push_back(makeCronJobController(client, options));
  out.push_back(makeDaemonSetController(client, options));
  out.push_back(makeStatefulSetController(client, options));
  return out;
}

}  // namespace kite::controlplane::controllers
