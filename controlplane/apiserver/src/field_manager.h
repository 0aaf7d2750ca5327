#pragma once
// Field ownership as upstream's field manager keeps it in metadata.managedFields: one entry
// per (manager, operation, subresource, and for Update the apiVersion), each with the
// FieldsV1 set of fields that manager set.
//  - Update (create, update, non-apply patch): the writer gains every field it added or
//    changed; every other manager loses those fields and the removed ones.
//  - Apply (server-side apply): the applier's set becomes exactly the applied
//    configuration's fields; fields it applied before and applies no longer are removed
//    from the object unless another manager owns them; changing a field another manager
//    owns is a conflict (409, reason Conflict, one cause per field) unless force is set, in
//    which case the applier takes the field over.
// Server-owned metadata (name, namespace, uid, resourceVersion, generation, ...) is owned
// by nobody; status is not owned through the main resource, and only status is owned
// through the status subresource.

#include <string>
#include <string_view>
#include <vector>

#include "api_object.h"
#include "kite/api/patch_meta.h"

namespace kite::controlplane::apiserver {

struct FieldOwner {
  std::string manager;      // fieldManager, or the user agent's product ("kubectl")
  std::string subresource;  // "" or "status", "scale", ...
  std::string apiVersion;   // group version of the request: "apps/v1"
  std::string kind;
  bool hasStatus = false;  // the kind has a status (not owned through the main resource)
};

// The manager name upstream records when the request names none: the user agent up to the
// first '/', at most 128 characters.
std::string managerFromUserAgent(std::string_view userAgent);

// Records an Update by `owner`: `live` is the stored object (nullptr on create), `next` the
// object about to be stored, whose managedFields are replaced by the result. Entries the
// request itself carried are used instead of the live ones when they differ (a single empty
// entry resets them), except through subresources, as upstream.
void recordUpdate(const FieldOwner& owner, const ApiObject* live, ApiObject& next);

struct AppliedObject {
  std::string json;  // the merged object, without managedFields
  std::vector<api::meta::v1::ManagedFieldsEntry> managedFields;
};

// Server-side apply of `config` (JSON) by `owner` over `live` (nullptr: the object does not
// exist yet). Throws ApiError 409 Conflict listing each conflict unless `force`.
AppliedObject applyConfiguration(const FieldOwner& owner, const ApiObject* live,
                                 std::string_view config, bool force);

}  // namespace kite::controlplane::apiserver
