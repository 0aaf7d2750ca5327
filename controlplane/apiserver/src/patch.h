#pragma once
// The three patch formats of PATCH requests, applied to an object's JSON:
//  - JSON merge patch (RFC 7386, application/merge-patch+json),
//  - JSON patch (RFC 6902, application/json-patch+json),
//  - strategic merge patch (application/strategic-merge-patch+json): a merge patch whose
//    lists of built-in types merge by a key (containers by name, ports by containerPort,
//    ...) and which understands the $patch, $retainKeys, $setElementOrder and
//    $deleteFromPrimitiveList directives kubectl sends.
// Each returns the patched JSON or throws ApiError (400 for a malformed patch, 422 for a
// patch that cannot apply, e.g. a JSON patch test that fails).

#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace kite::controlplane::apiserver {

std::string applyMergePatch(std::string_view original, std::string_view patch);
std::string applyJsonPatch(std::string_view original, std::string_view patch);

// How a list field merges under a strategic merge patch.
struct ListMergeRule {
  bool merge = false;    // false: the patch's list replaces the old one
  std::string mergeKey;  // for lists of objects; empty for lists of primitives (set union)
};
// The rule for the list at a path of field names from the object's root (list indexes
// are not part of the path: ["spec","containers","ports"]).
using ListMergeRules = std::function<ListMergeRule(const std::vector<std::string>& path)>;

// The merge rules of a built-in kind, from its generated patch metadata
// (kite/api/patch_meta.h: upstream's patchStrategy/patchMergeKey tags). Unknown kinds and
// fields replace lists, as upstream does for types without metadata.
ListMergeRules listMergeRulesFor(std::string_view apiVersion, std::string_view kind);

std::string applyStrategicMergePatch(std::string_view original, std::string_view patch,
                                     const ListMergeRules& rules);

}  // namespace kite::controlplane::apiserver
