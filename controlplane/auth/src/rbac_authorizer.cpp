#include <algorithm>

#include "kite/controlplane/rbac.h"
#include "policy_cache.h"

namespace kite::controlplane {

namespace {

std::string joinErrors(const std::vector<std::string>& errors) {
  // Go's utilerrors.Aggregate: one error as is, several as [a, b].
  if (errors.size() == 1) return errors.front();
  std::string out = "[";
  for (std::size_t i = 0; i < errors.size(); ++i) {
    if (i != 0) out.append(", ");
    out.append(errors[i]);
  }
  out.push_back(']');
  return out;
}

}  // namespace

RbacAuthorizer::RbacAuthorizer(Store& store) : cache_(std::make_unique<PolicyCache>(store)) {}

RbacAuthorizer::~RbacAuthorizer() = default;

Decision RbacAuthorizer::authorize(const UserInfo& user, const Attributes& attributes) {
  if (std::find(user.groups.begin(), user.groups.end(), rbac::kSuperuserGroup) !=
      user.groups.end()) {
    return {true, ""};
  }
  Decision decision;
  const auto errors = cache_->visitRules(
      user, attributes.namespace_,
      [&](const PolicyCache::Source& source, const api::rbac::v1::PolicyRule& rule) {
        if (!rbac::ruleAllows(attributes, rule)) return true;
        decision.allowed = true;
        decision.reason = "RBAC: allowed by " + source.describe();
        return false;
      });
  if (!decision.allowed && !errors.empty()) decision.reason = "RBAC: " + joinErrors(errors);
  return decision;
}

RbacAuthorizer::Rules RbacAuthorizer::rulesFor(const UserInfo& user, std::string_view ns) const {
  Rules out;
  out.errors = cache_->visitRules(
      user, ns, [&](const PolicyCache::Source&, const api::rbac::v1::PolicyRule& rule) {
        out.rules.push_back(rule);
        return true;
      });
  return out;
}

}  // namespace kite::controlplane
