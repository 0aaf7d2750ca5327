#include "controller_history_sync.h"

#include <algorithm>
#include <stdexcept>
#include <vector>

#include "kite/api/labels.h"
#include "kite/api/meta.h"
#include "workload_pods.h"

namespace kite::controlplane::controllers {

namespace {

// The revision with `owner` added as its controller, as the server stored it.
ControllerRevision adopt(client::Client& client, const RevisionOwner& owner,
                         ControllerRevision revision) {
  revision.metadata.ownerReferences.push_back(
      controllerRef(owner.apiVersion, owner.kind, owner.meta));
  return client.update(revision);
}

// The selector a set adopts and releases revisions with; nullopt when it is empty or invalid
// (then the set neither adopts nor releases).
std::optional<api::labels::Selector> adoptionSelector(
    const std::optional<api::meta::v1::LabelSelector>& selector) {
  if (!selector || (selector->matchLabels.empty() && selector->matchExpressions.empty())) {
    return std::nullopt;
  }
  try {
    return api::labels::Selector::fromLabelSelector(*selector);
  } catch (const std::invalid_argument&) {
    return std::nullopt;
  }
}

// An orphan the selector takes: what claimRevisions adopts, and what a create that found its
// name taken may adopt.
bool adoptable(const ControllerRevision& revision, const api::labels::Selector& selector) {
  return selector.matches(revision.metadata.labels) &&
         api::controllerOf(revision.metadata) == nullptr && !revision.metadata.deletionTimestamp;
}

}  // namespace

std::vector<ControllerRevision> claimRevisions(
    client::Client& client, const RevisionOwner& owner,
    const std::optional<api::meta::v1::LabelSelector>& selector,
    const std::vector<std::shared_ptr<const ControllerRevision>>& candidates) {
  const auto sel = adoptionSelector(selector);
  const bool adopting = sel.has_value();
  std::vector<ControllerRevision> out;
  for (const auto& r : candidates) {
    if (r->metadata.namespace_ != owner.meta.namespace_) continue;
    const bool matches = adopting && sel->matches(r->metadata.labels);
    if (isControlledBy(r->metadata, owner.meta.uid)) {
      if (matches || !adopting) {
        out.push_back(*r);
        continue;
      }
      // Relabelled out of the selector: released, as upstream (the owner reference goes).
      ControllerRevision copy = *r;
      std::erase_if(copy.metadata.ownerReferences,
                    [&](const auto& ref) { return ref.uid == owner.meta.uid; });
      try {
        client.update(copy);
      } catch (const client::ApiError& e) {
        if (!e.isNotFound() && !e.isConflict()) throw;
      }
      continue;
    }
    if (!matches || !adoptable(*r, *sel)) continue;
    try {
      out.push_back(adopt(client, owner, *r));
    } catch (const client::ApiError& e) {
      if (!e.isNotFound() && !e.isConflict()) throw;
      // The cache ran behind the server (an earlier sync may have adopted it already): look
      // again at the server's copy, so the revision is not missed and then mistaken for a
      // hash collision when its name is created again.
      try {
        const auto fresh = client.get<ControllerRevision>(r->metadata.namespace_, r->metadata.name);
        if (isControlledBy(fresh.metadata, owner.meta.uid)) {
          out.push_back(fresh);
        } else if (adoptable(fresh, *sel)) {
          out.push_back(adopt(client, owner, fresh));
        }
      } catch (const client::ApiError& again) {
        if (!again.isNotFound() && !again.isConflict()) throw;
      }
    }
  }
  return out;
}

std::optional<ControllerRevision> syncRevisionHistory(
    client::Client& client, const RevisionOwner& owner,
    const std::optional<api::meta::v1::LabelSelector>& selector,
    std::vector<ControllerRevision> revisions, const std::set<std::string>& live) {
  HistoryPlan plan = planHistory(owner, std::move(revisions), live);
  if (plan.collision) return std::nullopt;
  ControllerRevision current = plan.current;
  if (plan.create) {
    try {
      current = client.create(plan.current);
    } catch (const client::ApiError& e) {
      if (!e.isAlreadyExists()) throw;
      // Made by an earlier sync the cache has not shown yet (and perhaps orphaned since), or a
      // true collision: as upstream, the same data is the same revision.
      current = client.get<ControllerRevision>(owner.meta.namespace_, plan.current.metadata.name);
      if (!revisionMatches(current, owner.tmpl)) return std::nullopt;
      if (!isControlledBy(current.metadata, owner.meta.uid)) {
        const auto sel = adoptionSelector(selector);
        if (!sel || !adoptable(current, *sel)) return std::nullopt;
        current = adopt(client, owner, current);  // a conflict: the sync is retried
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
