#pragma once
// The DaemonSet controller: one pod per eligible node (nodeSelector matched, NoSchedule and
// NoExecute taints tolerated), bound by spec.nodeName, with upstream's daemon tolerations
// (node problems without a time limit); a ControllerRevision per template (what `kubectl
// rollout history/undo` read), pods labelled with its hash; RollingUpdate replaces pods of
// other revisions at most maxUnavailable at a time; status as upstream.

#include <memory>

#include "kite/client/shared_informers.h"
#include "kite/controlplane/controllers/controller.h"
#include "kite/controlplane/controllers/workloads.h"

namespace kite::controlplane::controllers {

std::unique_ptr<Controller> makeDaemonSetController(
    client::Client& client, const std::shared_ptr<client::SharedInformers>& informers,
    const WorkloadControllerOptions& options);

}  // namespace kite::controlplane::controllers
