#pragma once
// The revision history of DaemonSets and StatefulSets, kept as upstream does in
// ControllerRevisions: each distinct pod template is one revision named "<owner>-<hash>",
// whose `data` is the strategic-merge patch {"spec":{"template":{"$patch":"replace",...}}}
// (written as Go writes it, see go_json.h) that `kubectl rollout undo` sends back to the
// owner and `kubectl rollout history --revision=N` applies to show the template. Pure logic:
// the controllers apply the plan.

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "kite/api/apps/v1/types.h"
#include "kite/api/core/v1/types.h"
#include "kite/api/raw_json.h"

namespace kite::controlplane::controllers {

using api::apps::v1::ControllerRevision;

// The label a revision and the pods made from it carry (DaemonSet pods: the hash; StatefulSet
// pods: the revision's name).
inline constexpr std::string_view kControllerRevisionHashLabel = "controller-revision-hash";
// DaemonSet pods: the template generation they were made from.
inline constexpr std::string_view kPodTemplateGenerationLabel = "pod-template-generation";

// The revision data for a template: {"spec":{"template":{"$patch":"replace", <template>}}}.
api::RawJson templatePatch(const api::core::v1::PodTemplateSpec& tmpl);
// The template a revision's data holds. Throws std::invalid_argument when data is not a
// template patch.
api::core::v1::PodTemplateSpec templateOf(const ControllerRevision& revision);
// Whether a revision holds this template (compared as decoded objects, not bytes, so a
// re-encoding by the API server does not make it look different).
bool revisionMatches(const ControllerRevision& revision,
                     const api::core::v1::PodTemplateSpec& tmpl);

// A short hash of the data and the collision count, in upstream's alphabet.
std::string revisionHash(const api::RawJson& data, std::optional<int32_t> collisionCount);
// "<owner>-<hash>", the owner's part cut so the name stays a valid object name.
std::string revisionName(std::string_view owner, std::string_view hash);

// What a revision is made for.
struct RevisionOwner {
  std::string_view apiVersion;  // "apps/v1"
  std::string_view kind;        // "DaemonSet" or "StatefulSet"
  const api::meta::v1::ObjectMeta& meta;
  const api::core::v1::PodTemplateSpec& tmpl;
  std::optional<int32_t> collisionCount;
  std::optional<int32_t> revisionHistoryLimit;  // default 10
};

// A new revision of the owner's template: template labels plus the hash label, the owner's
// annotations (so kubernetes.io/change-cause shows in `rollout history`), the owner as
// controller.
ControllerRevision newRevision(const RevisionOwner& owner, int64_t number);

struct HistoryPlan {
  // The revision of the owner's current template as it should be stored: either new (create
  // it) or an existing one, renumbered when it is not the newest (a rollback).
  ControllerRevision current;
  bool create = false;
  bool renumber = false;
  // The new revision's name is taken by a different one: bump the owner's
  // status.collisionCount and try again.
  bool collision = false;
  // Old revisions beyond revisionHistoryLimit, oldest first, none of them live.
  std::vector<std::string> expired;
};

// Plans the history for the owner's current template, given the revisions it controls and
// the names of revisions still in use (pods made from them, a StatefulSet's current one):
// the matching revision is reused and gets the next number if an older one became current
// again; otherwise a new revision numbered one past the highest is made.
HistoryPlan planHistory(const RevisionOwner& owner, std::vector<ControllerRevision> revisions,
                        const std::set<std::string>& live);

}  // namespace kite::controlplane::controllers
