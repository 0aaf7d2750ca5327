// Upstream's rule and subject matching (rbac/v1 helpers of the RBAC authorizer).
#include <algorithm>

#include "kite/controlplane/rbac.h"

namespace kite::controlplane::rbac {

namespace {

bool containsOrStar(const std::vector<std::string>& list, std::string_view value) {
  return std::any_of(list.begin(), list.end(),
                     [&](const std::string& item) { return item == "*" || item == value; });
}

}  // namespace

bool verbMatches(const api::rbac::v1::PolicyRule& rule, std::string_view verb) {
  return containsOrStar(rule.verbs, verb);
}

bool apiGroupMatches(const api::rbac::v1::PolicyRule& rule, std::string_view group) {
  return containsOrStar(rule.apiGroups, group);
}

bool resourceMatches(const api::rbac::v1::PolicyRule& rule, std::string_view combinedResource,
                     std::string_view subresource) {
  for (const auto& r : rule.resources) {
    if (r == "*" || r == combinedResource) return true;
    if (subresource.empty()) continue;
    // "*/scale" matches the scale subresource of every resource.
    std::string_view rv = r;
    if (rv.size() == subresource.size() + 2 && rv.substr(0, 2) == "*/" &&
        rv.substr(2) == subresource) {
      return true;
    }
  }
  return false;
}

bool resourceNameMatches(const api::rbac::v1::PolicyRule& rule, std::string_view name) {
  if (rule.resourceNames.empty()) return true;
  return std::find(rule.resourceNames.begin(), rule.resourceNames.end(), name) !=
         rule.resourceNames.end();
}

bool nonResourceUrlMatches(const api::rbac::v1::PolicyRule& rule, std::string_view path) {
  for (const auto& u : rule.nonResourceURLs) {
    if (u == "*" || u == path) return true;
    std::string_view uv = u;
    if (!uv.empty() && uv.back() == '*' &&
        path.substr(0, uv.size() - 1) == uv.substr(0, uv.size() - 1)) {
      return true;
    }
  }
  return false;
}

bool ruleAllows(const Attributes& a, const api::rbac::v1::PolicyRule& rule) {
  if (!a.isResourceRequest) return verbMatches(rule, a.verb) && nonResourceUrlMatches(rule, a.path);
  std::string combined = a.resource;
  if (!a.subresource.empty()) combined.append("/").append(a.subresource);
  return verbMatches(rule, a.verb) && apiGroupMatches(rule, a.group) &&
         resourceMatches(rule, combined, a.subresource) && resourceNameMatches(rule, a.name);
}

bool rulesAllow(const Attributes& attributes, const std::vector<api::rbac::v1::PolicyRule>& rules) {
  return std::any_of(rules.begin(), rules.end(),
                     [&](const auto& rule) { return ruleAllows(attributes, rule); });
}

std::string serviceAccountUser(std::string_view ns, std::string_view name) {
  std::string out = "system:serviceaccount:";
  out.append(ns).append(":").append(name);
  return out;
}

bool subjectMatches(const api::rbac::v1::Subject& s, const UserInfo& user,
                    std::string_view bindingNamespace) {
  if (s.kind == "User") return user.name == s.name;
  if (s.kind == "Group") {
    return std::find(user.groups.begin(), user.groups.end(), s.name) != user.groups.end();
  }
  if (s.kind == "ServiceAccount") {
    std::string_view ns = s.namespace_.empty() ? bindingNamespace : std::string_view(s.namespace_);
    if (ns.empty() || s.name.empty()) return false;
    return user.name == serviceAccountUser(ns, s.name);
  }
  return false;
}

}  // namespace kite::controlplane::rbac
