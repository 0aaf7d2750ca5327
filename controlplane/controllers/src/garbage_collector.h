#pragma once
// The garbage collector: deletes objects whose owners (ownerReferences, checked by uid) are
// all gone, and carries out the Foreground ("foregroundDeletion" finalizer: blocking
// dependents deleted first) and Orphan ("orphan" finalizer: dependents' references removed
// first) deletions the API server marks on owners.

#include <memory>

#include "kite/controlplane/controllers/controller.h"
#include "kite/controlplane/controllers/workloads.h"

namespace kite::controlplane::controllers {

std::unique_ptr<Controller> makeGarbageCollector(client::Client& client,
                                                 const WorkloadControllerOptions& options);

}  // namespace kite::controlplane::controllers
