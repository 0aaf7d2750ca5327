#include "controller_history.h"

#include <algorithm>
#include <stdexcept>

#include "go_json.h"
#include "kite/api/json.h"
#include "workload_pods.h"
#include "workload_rollout.h"

namespace kite::controlplane::controllers {

namespace {

// Object names are at most 253 characters; upstream keeps 223 of the owner's name so the
// hash and its dash always fit.
constexpr std::size_t kMaxOwnerPrefix = 223;
constexpr int32_t kDefaultHistoryLimit = 10;

}  // namespace

api::RawJson templatePatch(const api::core::v1::PodTemplateSpec& tmpl) {
  const std::string body = api::encodeJson(tmpl);
  std::string out = R"({"spec":{"template":{"$patch":"replace")";
  if (body.size() > 2) out += "," + body.substr(1, body.size() - 2);
  out += "}}}";
  // Byte for byte what kubectl makes of the owner (Go's encoding, keys sorted): `rollout undo`
  // to the revision already running then says "skipped rollback", as upstream.
  return api::RawJson::fromTrustedText(goCanonicalJson(out));
}

api::core::v1::PodTemplateSpec templateOf(const ControllerRevision& revision) {
  if (revision.data.empty()) {
    throw std::invalid_argument("ControllerRevision " + revision.metadata.name + " has no data");
  }
  // Only spec.template of the patch matters; DaemonSet is a type that has it (the "$patch"
  // directive is an unknown field there, dropped by the lenient decoder).
  return api::decodeJson<api::apps::v1::DaemonSet>(revision.data.text()).spec.template_;
}

bool revisionMatches(const ControllerRevision& revision,
                     const api::core::v1::PodTemplateSpec& tmpl) {
  try {
    return api::encodeJson(templateOf(revision)) == api::encodeJson(tmpl);
  } catch (const std::exception&) {
    return false;  // not a template patch: some other writer's revision
  }
}

std::string revisionHash(const api::RawJson& data, std::optional<int32_t> collisionCount) {
  return shortHash(data.text(), collisionCount);
}

std::string revisionName(std::string_view owner, std::string_view hash) {
  return std::string(owner.substr(0, kMaxOwnerPrefix)) + "-" + std::string(hash);
}

ControllerRevision newRevision(const RevisionOwner& owner, int64_t number) {
  ControllerRevision r;
  r.data = templatePatch(owner.tmpl);
  const std::string hash = revisionHash(r.data, owner.collisionCount);
  r.metadata.name = revisionName(owner.meta.name, hash);
  r.metadata.namespace_ = owner.meta.namespace_;
  r.metadata.labels = owner.tmpl.metadata.labels;
  r.metadata.labels[std::string(kControllerRevisionHashLabel)] = hash;
  r.metadata.annotations = owner.meta.annotations;
  r.metadata.ownerReferences.push_back(controllerRef(owner.apiVersion, owner.kind, owner.meta));
  r.revision = number;
  return r;
}

HistoryPlan planHistory(const RevisionOwner& owner, std::vector<ControllerRevision> revisions,
                        const std::set<std::string>& live) {
  std::stable_sort(revisions.begin(), revisions.end(),
                   [](const auto& a, const auto& b) { return a.revision < b.revision; });
  int64_t highest = 0;
  for (const auto& r : revisions) highest = std::max(highest, r.revision);
  // Of several equal revisions (made under different collision counts) the newest counts.
  const ControllerRevision* match = nullptr;
  for (const auto& r : revisions) {
    if (revisionMatches(r, owner.tmpl)) match = &r;
  }
  HistoryPlan plan;
  if (match == nullptr) {
    plan.current = newRevision(owner, highest + 1);
    plan.create = true;
    plan.collision = std::any_of(revisions.begin(), revisions.end(), [&](const auto& r) {
      return r.metadata.name == plan.current.metadata.name;
    });
  } else {
    plan.current = *match;
    if (match->revision < highest) {
      // Rolled back to an older template: it becomes the newest revision again.
      plan.current.revision = highest + 1;
      plan.renumber = true;
    }
  }
  std::vector<const ControllerRevision*> old;
  for (const auto& r : revisions) {
    if (r.metadata.name != plan.current.metadata.name) old.push_back(&r);
  }
  const int32_t limit = std::max(0, owner.revisionHistoryLimit.value_or(kDefaultHistoryLimit));
  auto surplus = static_cast<int64_t>(old.size()) - limit;
  for (const auto* r : old) {
    if (surplus <= 0) break;
    if (live.contains(r->metadata.name)) continue;
    plan.expired.push_back(r->metadata.name);
    --surplus;
  }
  return plan;
}

}  // namespace kite::controlplane::controllers
