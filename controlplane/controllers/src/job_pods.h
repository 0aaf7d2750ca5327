#pragma once
// The pods a Job makes: its labels, the job-tracking finalizer that keeps a finished pod
// until the controller has counted it, and for Indexed Jobs the completion index (annotation,
// label, hostname `<job>-<index>`, JOB_COMPLETION_INDEX through the downward API) and the
// per-index failure count.

#include <cstdint>
#include <optional>
#include <string>

#include "kite/api/batch/v1/types.h"
#include "kite/api/core/v1/types.h"

namespace kite::controlplane::controllers {

bool hasTrackingFinalizer(const api::core::v1::Pod& pod);
// The failures of the pod's index before it (upstream's job-index-failure-count annotation).
int32_t indexFailureCount(const api::core::v1::Pod& pod);
// A pod for the Job; `index` for Indexed Jobs, with `indexFailures` failures of it so far.
api::core::v1::Pod jobPod(const api::batch::v1::Job& job, std::optional<int32_t> index,
                          int32_t indexFailures);
// A JSON patch removing the tracking finalizer, testing the entry first so a stale copy of
// the pod cannot remove another finalizer.
std::string removeTrackingFinalizerPatch(const api::core::v1::Pod& pod);

}  // namespace kite::controlplane::controllers
