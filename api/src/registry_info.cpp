// Lookups over the generated table of built-in resources (gen/kite/api/registry_info.cpp).

#include "kite/api/registry_info.h"

#include <algorithm>

namespace kite::api {

const SubresourceInfo* ResourceInfo::subresource(std::string_view name) const {
  for (const auto& s : subresources) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

bool ResourceInfo::hasVerb(std::string_view verb) const {
  return std::find(verbs.begin(), verbs.end(), verb) != verbs.end();
}

const ResourceInfo* findBuiltinResource(std::string_view group, std::string_view version,
                                        std::string_view resource) {
  for (const auto& r : builtinResources()) {
    if (r.group == group && r.version == version && r.resource == resource) return &r;
  }
  return nullptr;
}

const ResourceInfo* findBuiltinKind(std::string_view apiVersion, std::string_view kind) {
  for (const auto& r : builtinResources()) {
    if (r.apiVersion == apiVersion && r.kind == kind) return &r;
  }
  return nullptr;
}

}  // namespace kite::api
