#pragma once
// The RBAC objects of the Store in memory, fed by a StoreInformer: Roles, ClusterRoles (with
// the effective rules of aggregated ones worked out on every change), RoleBindings and
// ClusterRoleBindings, and the walk over the rules bound to a user.

#include <functional>
#include <map>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "kite/api/rbac/v1/types.h"
#include "kite/controlplane/auth.h"
#include "kite/controlplane/store.h"
#include "store_informer.h"

namespace kite::controlplane {

class PolicyCache {
 public:
  explicit PolicyCache(Store& store);

  // Which binding granted a rule, described in upstream's words on demand.
  struct Source {
    bool clusterBinding = true;
    std::string_view bindingName;
    std::string_view bindingNamespace;
    const api::rbac::v1::RoleRef* roleRef = nullptr;
    const api::rbac::v1::Subject* subject = nullptr;
    // `ClusterRoleBinding "b" of ClusterRole "r" to User "u"`,
    // `RoleBinding "b/ns" of Role "r" to ServiceAccount "ns/sa"`
    std::string describe() const;
  };
  // Returns false to stop the walk.
  using Visitor = std::function<bool(const Source&, const api::rbac::v1::PolicyRule&)>;

  // Visits the rules bound to the user: ClusterRoleBindings first, then the RoleBindings of
  // ns (none when ns is empty). Returns what could not be evaluated (bound roles that do not
  // exist), as upstream's error texts.
  std::vector<std::string> visitRules(const UserInfo& user, std::string_view ns,
                                      const Visitor& visit) const;

 private:
  void replaceAll(const std::vector<KeyValue>& items);
  void apply(const std::vector<WatchEvent>& events);
  void put(const KeyValue& kv);
  void remove(std::string_view key);
  void aggregate();  // recomputes effective_ (exclusive lock held)

  mutable std::shared_mutex mutex_;
  std::map<std::string, std::vector<api::rbac::v1::PolicyRule>, std::less<>> roles_;  // ns/name
  std::map<std::string, api::rbac::v1::ClusterRole, std::less<>> clusterRoles_;
  // ClusterRole name -> its rules, the union of the selected roles' for aggregated ones.
  std::map<std::string, std::vector<api::rbac::v1::PolicyRule>, std::less<>> effective_;
  std::map<std::string, std::map<std::string, api::rbac::v1::RoleBinding>, std::less<>>
      roleBindings_;  // namespace -> name -> binding
  std::map<std::string, api::rbac::v1::ClusterRoleBinding, std::less<>> clusterRoleBindings_;
  std::unique_ptr<auth::StoreInformer> informer_;  // last: stops before the maps go
};

}  // namespace kite::controlplane
