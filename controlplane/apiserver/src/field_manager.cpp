#include "field_manager.h"

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <stdexcept>

#include "api_error.h"
#include "field_set.h"
#include "kite/api/time.h"
#include "typed_walk.h"

namespace kite::controlplane::apiserver {

namespace {

using api::meta::v1::ManagedFieldsEntry;
using rapidjson::Document;
using rapidjson::Value;

constexpr std::string_view kApply = "Apply";
constexpr std::string_view kUpdate = "Update";

struct Manager {
  ManagedFieldsEntry entry;  // without fieldsV1
  FieldSet fields;
};

// Two entries are the same manager when manager, operation and subresource match, and for
// Update also the apiVersion (upstream's manager identifier).
bool sameManager(const ManagedFieldsEntry& a, const ManagedFieldsEntry& b) {
  return a.manager == b.manager && a.operation == b.operation && a.subresource == b.subresource &&
         (a.operation == kApply || a.apiVersion == b.apiVersion);
}

std::vector<Manager> decodeManagers(const std::vector<ManagedFieldsEntry>& entries) {
  std::vector<Manager> out;
  for (const auto& e : entries) {
    Manager m;
    m.entry = e;
    m.entry.fieldsV1 = {};
    try {
      if (!e.fieldsV1.empty()) m.fields = FieldSet::fromFieldsV1(e.fieldsV1.text());
    } catch (const std::invalid_argument&) {
      continue;  // an entry kite cannot read owns nothing
    }
    out.push_back(std::move(m));
  }
  return out;
}

// Upstream keeps at most this many Update entries; the oldest beyond it are merged into one
// entry named kAncientChanges, so managedFields cannot grow with every new writer.
constexpr std::size_t kMaxUpdateManagers = 10;
constexpr std::string_view kAncientChanges = "ancient-changes";
// Who owns the fields of an object that had no managedFields when it was first applied.
constexpr std::string_view kBeforeFirstApply = "before-first-apply";

api::Time::TimePoint timeOf(const ManagedFieldsEntry& e) {
  return e.time ? e.time->timePoint() : api::Time::TimePoint{};
}

void capUpdateManagers(std::vector<Manager>& managers) {
  std::vector<std::size_t> updaters;
  for (std::size_t i = 0; i < managers.size(); ++i) {
    if (managers[i].entry.operation == kUpdate && !managers[i].fields.empty()) {
      updaters.push_back(i);
    }
  }
  if (updaters.size() <= kMaxUpdateManagers) return;
  std::stable_sort(updaters.begin(), updaters.end(), [&](std::size_t a, std::size_t b) {
    return timeOf(managers[a].entry) < timeOf(managers[b].entry);
  });
  const auto bucketAt = std::find_if(managers.begin(), managers.end(), [](const Manager& m) {
    return m.entry.manager == kAncientChanges && m.entry.operation == kUpdate;
  });
  const bool hadBucket = bucketAt != managers.end();
  Manager bucket;
  if (hadBucket) bucket = *bucketAt;
  bucket.entry.manager = std::string(kAncientChanges);
  bucket.entry.operation = std::string(kUpdate);
  bucket.entry.subresource.clear();
  // Merge the oldest writers until the bucket and the newest ones make kMaxUpdateManagers.
  std::size_t toMerge = updaters.size() - kMaxUpdateManagers + (hadBucket ? 0 : 1);
  std::vector<bool> merged(managers.size(), false);
  for (std::size_t i : updaters) {
    if (toMerge == 0) break;
    if (hadBucket && managers[i].entry.manager == kAncientChanges) continue;
    bucket.fields = bucket.fields.unionWith(managers[i].fields);
    if (bucket.entry.apiVersion.empty()) bucket.entry.apiVersion = managers[i].entry.apiVersion;
    if (timeOf(managers[i].entry) >= timeOf(bucket.entry)) {
      bucket.entry.time = managers[i].entry.time;  // the newest change merged
    }
    merged[i] = true;
    --toMerge;
  }
  std::vector<Manager> kept;
  for (std::size_t i = 0; i < managers.size(); ++i) {
    const bool isBucket = hadBucket && managers[i].entry.manager == kAncientChanges &&
                          managers[i].entry.operation == kUpdate;
    if (!merged[i] && !isBucket) kept.push_back(std::move(managers[i]));
  }
  kept.push_back(std::move(bucket));
  managers = std::move(kept);
}

std::vector<ManagedFieldsEntry> encodeManagers(std::vector<Manager> managers) {
  capUpdateManagers(managers);
  std::vector<ManagedFieldsEntry> out;
  for (auto& m : managers) {
    if (m.fields.empty()) continue;
    m.entry.fieldsType = "FieldsV1";
    m.entry.fieldsV1 = api::RawJson::fromTrustedText(m.fields.toFieldsV1());
    out.push_back(std::move(m.entry));
  }
  // Upstream's order: Apply before Update, then by time, manager, apiVersion, subresource.
  std::stable_sort(out.begin(), out.end(), [](const auto& p, const auto& q) {
    if (p.operation != q.operation) return p.operation < q.operation;
    const auto pt = p.time ? p.time->timePoint() : api::Time::TimePoint{};
    const auto qt = q.time ? q.time->timePoint() : api::Time::TimePoint{};
    if (pt != qt) return pt < qt;
    if (p.manager != q.manager) return p.manager < q.manager;
    if (p.apiVersion != q.apiVersion) return p.apiVersion < q.apiVersion;
    return p.subresource < q.subresource;
  });
  return out;
}

Manager& managerFor(std::vector<Manager>& managers, const FieldOwner& owner,
                    std::string_view operation) {
  ManagedFieldsEntry wanted;
  wanted.manager = owner.manager;
  wanted.operation = std::string(operation);
  wanted.subresource = owner.subresource;
  wanted.apiVersion = owner.apiVersion;
  for (auto& m : managers) {
    if (sameManager(m.entry, wanted)) {
      m.entry.apiVersion = owner.apiVersion;
      return m;
    }
  }
  managers.push_back(Manager{std::move(wanted), {}});
  return managers.back();
}

api::Time now() {
  return api::Time(
      std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now()));
}

// What nobody owns: the server's metadata, and status or everything but status depending on
// the subresource (upstream's stripMeta and reset fields).
void normalize(FieldSet& set, const FieldOwner& owner) {
  static const std::vector<FieldPath> kServerOwned = {
      {"f:apiVersion"},
      {"f:kind"},
      {"f:metadata"},
      {"f:metadata", "f:name"},
      {"f:metadata", "f:namespace"},
      {"f:metadata", "f:creationTimestamp"},
      {"f:metadata", "f:selfLink"},
      {"f:metadata", "f:uid"},
      {"f:metadata", "f:clusterName"},
      {"f:metadata", "f:generation"},
      {"f:metadata", "f:managedFields"},
      {"f:metadata", "f:resourceVersion"},
  };
  if (owner.subresource == "status") {
    set.keepOnlyRootChild("f:status");
  } else if (owner.hasStatus && owner.subresource.empty()) {
    set.eraseRootChild("f:status");
  }
  set.removeMembers(kServerOwned);
}

Document parseObject(std::string_view json, const char* what) {
  Document d;
  d.Parse<rapidjson::kParseValidateEncodingFlag | rapidjson::kParseIterativeFlag>(json.data(),
                                                                                  json.size());
  if (d.HasParseError()) {
    throw ApiError::badRequest(std::string(what) + " is not valid JSON: " +
                               rapidjson::GetParseError_En(d.GetParseError()));
  }
  if (!d.IsObject()) throw ApiError::badRequest(std::string(what) + " must be a JSON object");
  return d;
}

void dropManagedFields(Value& object) {
  auto meta = object.FindMember("metadata");
  if (meta != object.MemberEnd() && meta->value.IsObject()) {
    meta->value.RemoveMember("managedFields");
  }
}

Document objectDocument(const ApiObject* object) {
  Document d;
  if (object == nullptr) {
    d.SetObject();
    return d;
  }
  d = parseObject(object->encode(), "the object");
  dropManagedFields(d);
  return d;
}

std::string serialize(const Value& v) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  v.Accept(w);
  return {buf.GetString(), buf.GetSize()};
}

// `"kubectl" using apps/v1`, `"kube-controller-manager" with subresource "status" using v1`.
std::string printManager(const ManagedFieldsEntry& e) {
  std::string out = "\"" + e.manager + "\"";
  if (!e.subresource.empty()) out += " with subresource \"" + e.subresource + "\"";
  if (e.operation == kUpdate) out += " using " + e.apiVersion;
  return out;
}

[[noreturn]] void throwConflicts(const std::vector<std::pair<std::string, FieldPath>>& conflicts) {
  api::meta::v1::Status status = failureStatus(409, "Conflict", "");
  api::meta::v1::StatusDetails details;
  std::map<std::string, std::vector<std::string>> byManager;
  for (const auto& [manager, path] : conflicts) {
    api::meta::v1::StatusCause cause;
    cause.reason = "FieldManagerConflict";
    cause.message = "conflict with " + manager;
    cause.field = fieldPathString(path);
    byManager[manager].push_back(cause.field);
    details.causes.push_back(std::move(cause));
  }
  if (conflicts.size() == 1) {
    status.message = "Apply failed with 1 conflict: conflict with " + conflicts[0].first + ": " +
                     fieldPathString(conflicts[0].second);
  } else {
    std::string lines;
    for (const auto& [manager, paths] : byManager) {
      if (!lines.empty()) lines += "\n";
      lines += "conflicts with " + manager + ":";
      for (const auto& p : paths) lines += "\n- " + p;
    }
    status.message =
        "Apply failed with " + std::to_string(conflicts.size()) + " conflicts: " + lines;
  }
  status.details = std::move(details);
  throw ApiError(std::move(status));
}

// Upstream's update step: every manager but `self` loses the fields that changed (a
// conflict unless forced) and the fields that were removed. Returns the comparison.
FieldComparison takeChangedFields(const FieldOwner& owner, const Value& before, const Value& after,
                                  std::vector<Manager>& managers, const Manager* self, bool force) {
  const api::PatchMeta* schema = api::patchMetaFor(owner.apiVersion, owner.kind);
  FieldComparison cmp = compareFields(before, after, schema);
  normalize(cmp.added, owner);
  normalize(cmp.modified, owner);
  normalize(cmp.removed, owner);
  const FieldSet changed = cmp.modified.unionWith(cmp.added);
  std::vector<std::pair<std::string, FieldPath>> conflicts;
  std::vector<FieldSet> lost(managers.size());
  for (std::size_t i = 0; i < managers.size(); ++i) {
    if (&managers[i] == self) continue;
    lost[i] = managers[i].fields.intersection(changed);
    if (!force) {
      lost[i].forEach(
          [&](const FieldPath& p) { conflicts.emplace_back(printManager(managers[i].entry), p); });
    }
  }
  if (!conflicts.empty()) {
    std::stable_sort(conflicts.begin(), conflicts.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    throwConflicts(conflicts);
  }
  for (std::size_t i = 0; i < managers.size(); ++i) {
    if (&managers[i] == self) continue;
    managers[i].fields = managers[i].fields.difference(lost[i]).difference(cmp.removed);
  }
  return cmp;
}

// The managers an Update starts from (upstream's decodeLiveOrNew).
std::vector<ManagedFieldsEntry> startingEntries(const FieldOwner& owner, const ApiObject* live,
                                                const ApiObject& next) {
  const auto& requested = next.meta().managedFields;
  const std::vector<ManagedFieldsEntry> none;
  const auto& current = live != nullptr ? live->meta().managedFields : none;
  if (!owner.subresource.empty()) return current;
  if (requested.size() == 1 && requested[0] == ManagedFieldsEntry{}) return {};  // reset
  if (requested.empty()) return current;
  return requested;
}

}  // namespace

std::string managerFromUserAgent(std::string_view userAgent) {
  std::string out(userAgent.substr(0, userAgent.find('/')));
  if (out.size() > 128) out.resize(128);
  return out;
}

void recordUpdate(const FieldOwner& owner, const ApiObject* live, ApiObject& next) {
  std::vector<Manager> managers = decodeManagers(startingEntries(owner, live, next));
  Document before = objectDocument(live);
  Document after = objectDocument(&next);
  Manager& self = managerFor(managers, owner, kUpdate);
  const FieldComparison cmp = takeChangedFields(owner, before, after, managers, &self, true);
  FieldSet mine = self.fields.difference(cmp.removed).unionWith(cmp.modified).unionWith(cmp.added);
  if (!(mine == self.fields) || !cmp.added.empty() || !cmp.modified.empty())
    self.entry.time = now();
  self.fields = std::move(mine);
  next.meta().managedFields = encodeManagers(std::move(managers));
}

AppliedObject applyConfiguration(const FieldOwner& owner, const ApiObject* live,
                                 std::string_view config, bool force) {
  const api::PatchMeta* schema = api::patchMetaFor(owner.apiVersion, owner.kind);
  Document applied = parseObject(config, "the applied configuration");
  dropManagedFields(applied);
  Document before = objectDocument(live);
  Document merged;
  merged.CopyFrom(before, merged.GetAllocator());
  mergeApplied(merged, applied, schema, merged.GetAllocator());

  std::vector<Manager> managers = decodeManagers(
      live != nullptr ? live->meta().managedFields : std::vector<ManagedFieldsEntry>{});
  if (live != nullptr && managers.empty()) {
    // An object nobody is recorded for (its managedFields were reset): what it holds now
    // belongs to one Update manager, so the first apply cannot silently take it over.
    Manager previous;
    previous.entry.manager = std::string(kBeforeFirstApply);
    previous.entry.operation = std::string(kUpdate);
    previous.entry.apiVersion = owner.apiVersion;
    previous.entry.time = now();
    previous.fields = fieldSetOf(before, schema);
    normalize(previous.fields, owner);
    managers.push_back(std::move(previous));
  }
  Manager& self = managerFor(managers, owner, kApply);
  const FieldSet last = std::move(self.fields);
  self.fields = fieldSetOf(applied, schema);
  normalize(self.fields, owner);
  self.entry.time = now();

  // Fields this manager applied before and applies no longer go, unless someone owns them.
  // Only what a configuration could set is removed (not a struct that another entry
  // recorded as a whole, such as .spec from an Update that created it).
  FieldSet owned;
  for (const auto& m : managers) owned = owned.unionWith(m.fields);
  last.intersection(fieldSetOf(merged, schema)).difference(owned).forEach([&](const FieldPath& p) {
    removeFieldPath(merged, p, schema);
  });

  takeChangedFields(owner, before, merged, managers, &self, force);
  return AppliedObject{serialize(merged), encodeManagers(std::move(managers))};
}

}  // namespace kite::controlplane::apiserver
