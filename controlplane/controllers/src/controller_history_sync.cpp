#include "controller_history_sync.h"

#include "workload_pods.h"

namespace kite::controlplane::controllers {

std::optional<ControllerRevision> syncRevisionHistory(client::Client& client,
                                                      const RevisionOwner& owner,
                                                      std::vector<ControllerRevision> revisions,
                                                      const std::set<std::string>& live) {
  HistoryPlan plan = planHistory(owner, std::move(revisions), live);
  if (plan.collision) return std::nullopt;
  ControllerRevision current = plan.current;
  if (plan.create) {
    try {
      current = client.create(plan.current);
    } catch (const client::ApiError& e) {
      if (!e.isAlreadyExists()) throw;
      // Made by an earlier sync the cache has not shown yet, or a true collision.
      current = client.get<ControllerRevision>(owner.meta.namespace_, plan.current.metadata.name);
      if (!isControlledBy(current.metadata, owner.meta.uid) ||
          !revisionMatches(current, owner.tmpl)) {
        return std::nullopt;
      }
    }
  } else if (plan.renumber) {
    current = client.update(plan.current);
  }
  for (const auto& name : plan.expired) {
    try {
      client.remove<ControllerRevision>(owner.meta.namespace_, name);
    } catch (const client::ApiError& e) {
      if (!e.isNotFound()) throw;
    }
  }
  return current;
}

}  // namespace kite::controlplane::controllers
