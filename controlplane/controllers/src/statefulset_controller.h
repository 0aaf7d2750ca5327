#pragma once
// The StatefulSet controller: pods "<set>-<ordinal>" with stable names and hostnames, each
// Running and Ready before the next is made (OrderedReady; Parallel makes them at once),
// PersistentVolumeClaims "<claim>-<set>-<ordinal>" from volumeClaimTemplates, scale-down from
// the highest ordinal, RollingUpdate from the highest ordinal down (above the partition; pods
// below it are made from the current revision). A ControllerRevision per template, named in
// the pods' controller-revision-hash label and status.currentRevision/updateRevision, is what
// `kubectl rollout history/undo` read.

#include <memory>

#include "kite/client/shared_informers.h"
#include "kite/controlplane/controllers/controller.h"
#include "kite/controlplane/controllers/workloads.h"

namespace kite::controlplane::controllers {

std::unique_ptr<Controller> makeStatefulSetController(
    client::Client& client, const std::shared_ptr<client::SharedInformers>& informers,
    const WorkloadControllerOptions& options);

}  // namespace kite::controlplane::controllers
