#pragma once
// The walks of server-side apply over an object's JSON tree, typed by the generated patch
// metadata (kite/api/patch_meta.h): which lists are maps keyed by listMapKeys, which are
// sets, which structs, maps and lists are atomic. The same rules upstream's
// structured-merge-diff applies, on rapidjson values.

#include <rapidjson/document.h>

#include "field_set.h"
#include "kite/api/patch_meta.h"

namespace kite::controlplane::apiserver {

// The fields a configuration sets (upstream's ToFieldSet): every scalar and atomic value,
// every map key and list item, and struct fields set to null or {}.
FieldSet fieldSetOf(const rapidjson::Value& object, const api::PatchMeta* schema);

// What changed from `before` to `after`: every path of an added or removed subtree, and
// changed scalars and atomic values.
struct FieldComparison {
  FieldSet added;
  FieldSet modified;
  FieldSet removed;
};
FieldComparison compareFields(const rapidjson::Value& before, const rapidjson::Value& after,
                              const api::PatchMeta* schema);

// Merges an applied configuration into the live object: struct fields and map keys merge,
// list maps merge item by key, sets take the union, atomic values and scalars are replaced,
// null removes.
void mergeApplied(rapidjson::Value& live, const rapidjson::Value& config,
                  const api::PatchMeta* schema, rapidjson::Document::AllocatorType& allocator);

// Removes the value at a path (a field, map key or list item) when it is there.
void removeFieldPath(rapidjson::Value& object, const FieldPath& path, const api::PatchMeta* schema);

}  // namespace kite::controlplane::apiserver
