#pragma once
// Role-based access control as upstream Kubernetes does it: Roles and ClusterRoles grant
// rules (verbs on apiGroups/resources/resourceNames, or on nonResourceURLs, "*" matching
// anything), RoleBindings and ClusterRoleBindings grant roles to Users, Groups and
// ServiceAccounts. The authorizer reads them from the Store through a list-then-watch cache,
// so a new binding takes effect as soon as the watch delivers it. ClusterRoles with an
// aggregationRule get the union of the rules of the ClusterRoles their selectors match (what
// upstream's aggregation controller writes into them). Members of system:masters may do
// everything, as upstream's superuser group.

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "kite/api/rbac/v1/types.h"
#include "kite/controlplane/auth.h"
#include "kite/controlplane/store.h"

namespace kite::controlplane {

namespace rbac {

inline constexpr const char* kGroup = "rbac.authorization.k8s.io";
inline constexpr const char* kSuperuserGroup = "system:masters";

// Upstream's rule matching. resourceMatches takes "pods/status" for a subresource request
// (and the subresource alone, which "*/status" matches).
bool verbMatches(const api::rbac::v1::PolicyRule& rule, std::string_view verb);
bool apiGroupMatches(const api::rbac::v1::PolicyRule& rule, std::string_view group);
bool resourceMatches(const api::rbac::v1::PolicyRule& rule, std::string_view combinedResource,
                     std::string_view subresource);
bool resourceNameMatches(const api::rbac::v1::PolicyRule& rule, std::string_view name);
// "/healthz" matches "/healthz" and "/health*"; "*" matches every path.
bool nonResourceUrlMatches(const api::rbac::v1::PolicyRule& rule, std::string_view path);
bool ruleAllows(const Attributes& attributes, const api::rbac::v1::PolicyRule& rule);
bool rulesAllow(const Attributes& attributes, const std::vector<api::rbac::v1::PolicyRule>& rules);

// Whether a binding's subject names the user. A ServiceAccount subject without a namespace
// takes the binding's (empty for ClusterRoleBindings: then it matches nobody).
bool subjectMatches(const api::rbac::v1::Subject& subject, const UserInfo& user,
                    std::string_view bindingNamespace);

// "system:serviceaccount:NS:NAME", the user name of a service account.
std::string serviceAccountUser(std::string_view ns, std::string_view name);

}  // namespace rbac

class PolicyCache;

class RbacAuthorizer final : public Authorizer {
 public:
  // Reads the RBAC objects under /registry/rbac.authorization.k8s.io/ before returning
  // (throws StoreError when the store cannot be read), then follows them.
  explicit RbacAuthorizer(Store& store);
  ~RbacAuthorizer() override;
  RbacAuthorizer(const RbacAuthorizer&) = delete;
  RbacAuthorizer& operator=(const RbacAuthorizer&) = delete;

  // Allowed with upstream's reason (`RBAC: allowed by ClusterRoleBinding "x" of ClusterRole
  // "y" to User "z"`), or not allowed with an empty reason, or with the evaluation errors
  // (`RBAC: clusterrole.rbac.authorization.k8s.io "y" not found`).
  Decision authorize(const UserInfo& user, const Attributes& attributes) override;

  // Every rule granted to the user in the namespace (cluster-wide bindings included; only
  // those when ns is empty), and what could not be evaluated: SelfSubjectRulesReview.
  struct Rules {
    std::vector<api::rbac::v1::PolicyRule> rules;
    std::vector<std::string> errors;
  };
  Rules rulesFor(const UserInfo& user, std::string_view ns) const;

 private:
  std::unique_ptr<PolicyCache> cache_;
};

}  // namespace kite::controlplane
