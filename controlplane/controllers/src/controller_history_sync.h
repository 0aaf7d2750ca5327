#pragma once
// Writes a DaemonSet's or StatefulSet's revision history through the API (the plan comes
// from controller_history.h): adopts orphaned revisions, creates or renumbers the current
// revision, deletes expired ones.

#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "controller_history.h"
#include "kite/client/client.h"

namespace kite::controlplane::controllers {

// The revisions the owner controls among `candidates` (its namespace's, from an informer
// cache), after adopting the orphans there whose labels match its selector and releasing its
// own that no longer match, as upstream's ControllerRefManager does: an orphan (no controller
// reference, not being deleted) gets the owner as controller, a released one loses the
// owner's reference, each through an update at the cached resourceVersion. An adoption that
// conflicts (the cache ran behind) reads the server's copy again: taken as it is when already
// controlled by the owner, adopted when still an orphan that matches. A release that
// conflicts is left for the next sync. An empty, absent or invalid selector adopts and
// releases nothing.
std::vector<ControllerRevision> claimRevisions(
    client::Client& client, const RevisionOwner& owner,
    const std::optional<api::meta::v1::LabelSelector>& selector,
    const std::vector<std::shared_ptr<const ControllerRevision>>& candidates);

// Makes the history match the owner's current template and returns its current revision;
// nullopt on a hash collision (the caller bumps status.collisionCount, which changes the
// hash). `revisions` are those the owner controls, as its informer cache has them; a revision
// of the current template that exists without them (the cache ran behind) is the owner's, and
// adopted when `selector` takes it as claimRevisions would. Throws client::ApiError (e.g. a
// conflict with a stale cache) for the caller to retry.
std::optional<ControllerRevision> syncRevisionHistory(
    client::Client& client, const RevisionOwner& owner,
    const std::optional<api::meta::v1::LabelSelector>& selector,
    std::vector<ControllerRevision> revisions, const std::set<std::string>& live);

}  // namespace kite::controlplane::controllers
