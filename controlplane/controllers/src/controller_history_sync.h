#pragma once
// Writes a DaemonSet's or StatefulSet's revision history through the API (the plan comes
// from controller_history.h): creates or renumbers the current revision, deletes expired ones.

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "controller_history.h"
#include "kite/client/client.h"

namespace kite::controlplane::controllers {

// Makes the history match the owner's current template and returns its current revision;
// nullopt on a hash collision (the caller bumps status.collisionCount, which changes the
// hash). `revisions` are those the owner controls, as its informer cache has them. Throws
// client::ApiError (e.g. a conflict with a stale cache) for the caller to retry.
std::optional<ControllerRevision> syncRevisionHistory(client::Client& client,
                                                      const RevisionOwner& owner,
                                                      std::vector<ControllerRevision> revisions,
                                                      const std::set<std::string>& live);

}  // namespace kite::controlplane::controllers
