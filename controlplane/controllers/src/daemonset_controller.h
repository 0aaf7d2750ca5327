#pragma once
// The DaemonSet controller: one pod per eligible node (nodeSelector matched, NoSchedule and
// NoExecute taints tolerated), bound by spec.nodeName; RollingUpdate replaces outdated pods
// at most maxUnavailable at a time; status as upstream.

#include <memory>

#include "kite/controlplane/controllers/controller.h"
#include "kite/controlplane/controllers/workloads.h"

namespace kite::controlplane::controllers {

std::unique_ptr<Controller> makeDaemonSetController(client::Client& client,
                                                    const WorkloadControllerOptions& options);

}  // namespace kite::controlplane::controllers
