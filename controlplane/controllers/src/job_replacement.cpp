#include "job_replacement.h"

#include "workload_pods.h"

namespace kite::controlplane::controllers {

bool onlyReplaceFailedPods(const api::batch::v1::Job& job) {
  return job.spec.podReplacementPolicy.value_or("") == "Failed" ||
         job.spec.podFailurePolicy.has_value();
}

bool isPodTerminating(const api::core::v1::Pod& pod) {
  return pod.metadata.deletionTimestamp && !isPodTerminated(pod);
}

bool awaitingTerminalPhase(const api::batch::v1::Job& job, const api::core::v1::Pod& pod) {
  return isPodTerminating(pod) && onlyReplaceFailedPods(job);
}

}  // namespace kite::controlplane::controllers
