// The built-in resources the API server registers, generated from the `resources` sections
// of api/schema/*.yaml: group, version, kind, plural name, scope, short names, categories,
// verbs and subresources as upstream's discovery documents show them.
#pragma once

#include <span>
#include <string_view>

namespace kite::api {

// A subresource such as pods/status or deployments/scale.
struct SubresourceInfo {
  std::string_view name;   // "status", "scale", "log"...
  std::string_view group;  // of the object it takes and returns, e.g. autoscaling for scale
  std::string_view version;
  std::string_view kind;  // e.g. Scale, Binding, Eviction, TokenRequest, PodExecOptions
  std::span<const std::string_view> verbs;
};

struct ResourceInfo {
  std::string_view group;       // "" for core
  std::string_view version;     // "v1"
  std::string_view apiVersion;  // "v1", "apps/v1"
  std::string_view kind;        // "Deployment"
  std::string_view listKind;    // "DeploymentList"; empty for create-only kinds (reviews)
  std::string_view resource;    // plural name, "deployments"
  std::string_view singular;    // "deployment"
  bool namespaced = false;
  std::span<const std::string_view> verbs;       // create, delete, deletecollection, get...
  std::span<const std::string_view> shortNames;  // "deploy"
  std::span<const std::string_view> categories;  // "all"
  std::span<const SubresourceInfo> subresources;

  // The subresource with this name, or nullptr.
  [[nodiscard]] const SubresourceInfo* subresource(std::string_view name) const;
  [[nodiscard]] bool hasVerb(std::string_view verb) const;
};

// Every built-in resource, grouped by group version in schema order.
std::span<const ResourceInfo> builtinResources();

// Lookups; nullptr when unknown. findBuiltinResource matches the plural name only.
const ResourceInfo* findBuiltinResource(std::string_view group, std::string_view version,
                                        std::string_view resource);
const ResourceInfo* findBuiltinKind(std::string_view apiVersion, std::string_view kind);

}  // namespace kite::api
