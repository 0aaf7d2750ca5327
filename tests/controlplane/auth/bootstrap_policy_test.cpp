#include "kite/controlplane/bootstrap_policy.h"

#include <gtest/gtest.h>

#include "auth_test_store.h"
#include "kite/controlplane/rbac.h"

namespace kite::controlplane {
namespace {

namespace rbacv1 = api::rbac::v1;
using testing::TempStore;

std::string roleKey(const std::string& name) {
  return "/registry/rbac.authorization.k8s.io/clusterroles/" + name;
}
std::string bindingKey(const std::string& name) {
  return "/registry/rbac.authorization.k8s.io/clusterrolebindings/" + name;
}

Attributes res(std::string verb, std::string group, std::string resource, std::string ns = {},
               std::string sub = {}) {
  Attributes a;
  a.verb = std::move(verb);
  a.group = std::move(group);
  a.resource = std::move(resource);
  a.namespace_ = std::move(ns);
  a.subresource = std::move(sub);
  return a;
}

Attributes path(std::string verb, std::string p) {
  Attributes a;
  a.verb = std::move(verb);
  a.isResourceRequest = false;
  a.path = std::move(p);
  return a;
}

UserInfo user(std::string name, std::vector<std::string> groups = {"system:authenticated"}) {
  return UserInfo{std::move(name), std::move(groups), ""};
}

rbacv1::Subject userSubject(const std::string& name) {
  rbacv1::Subject s;
  s.kind = "User";
  s.apiGroup = rbac::kGroup;
  s.name = name;
  return s;
}

TEST(BootstrapPolicy, CreatesRolesAndBindingsOnce) {
  TempStore store;
  const auto first = ensureBootstrapPolicy(store.store());
  EXPECT_EQ(first.created, static_cast<int>(bootstrapClusterRoles().size() +
                                            bootstrapClusterRoleBindings().size()));
  EXPECT_EQ(first.updated, 0);
  const auto admin =
      api::decodeJson<rbacv1::ClusterRole>(store.store().get(roleKey("admin"))->value);
  EXPECT_EQ(admin.metadata.labels.at("kubernetes.io/bootstrapping"), "rbac-defaults");
  EXPECT_EQ(admin.metadata.annotations.at("rbac.authorization.kubernetes.io/autoupdate"), "true");
  ASSERT_TRUE(admin.aggregationRule);
  EXPECT_EQ(admin.aggregationRule->clusterRoleSelectors.at(0).matchLabels.at(
                "rbac.authorization.k8s.io/aggregate-to-admin"),
            "true");
  EXPECT_FALSE(admin.metadata.uid.empty());
  EXPECT_FALSE(admin.metadata.creationTimestamp.isZero());

  const auto rev = store.store().currentRevision();
  const auto second = ensureBootstrapPolicy(store.store());
  EXPECT_EQ(second.created, 0);
  EXPECT_EQ(second.updated, 0);
  EXPECT_EQ(store.store().currentRevision(), rev);
}

TEST(BootstrapPolicy, ReconcilesAutoupdateObjectsOnly) {
  TempStore store;
  ensureBootstrapPolicy(store.store());
  // An administrator trims the view role and adds a subject to a binding.
  auto view = api::decodeJson<rbacv1::ClusterRole>(
      store.store().get(roleKey("system:aggregate-to-view"))->value);
  const auto fullRules = view.rules.size();
  view.rules.resize(1);
  store.putObject(roleKey("system:aggregate-to-view"), view);
  auto discovery = api::decodeJson<rbacv1::ClusterRoleBinding>(
      store.store().get(bindingKey("system:discovery"))->value);
  discovery.subjects.push_back(userSubject("extra"));
  store.putObject(bindingKey("system:discovery"), discovery);
  // ... and opts out of updates for basic-user after emptying it.
  auto basic =
      api::decodeJson<rbacv1::ClusterRole>(store.store().get(roleKey("system:basic-user"))->value);
  basic.rules.clear();
  basic.metadata.annotations["rbac.authorization.kubernetes.io/autoupdate"] = "false";
  store.putObject(roleKey("system:basic-user"), basic);
  store.remove(roleKey("cluster-admin"));

  const auto result = ensureBootstrapPolicy(store.store());
  EXPECT_EQ(result.created, 1);
  EXPECT_EQ(result.updated, 1);
  view = api::decodeJson<rbacv1::ClusterRole>(
      store.store().get(roleKey("system:aggregate-to-view"))->value);
  EXPECT_EQ(view.rules.size(), fullRules);
  discovery = api::decodeJson<rbacv1::ClusterRoleBinding>(
      store.store().get(bindingKey("system:discovery"))->value);
  EXPECT_EQ(discovery.subjects.size(), 2U);  // theirs kept
  basic =
      api::decodeJson<rbacv1::ClusterRole>(store.store().get(roleKey("system:basic-user"))->value);
  EXPECT_TRUE(basic.rules.empty());
}

TEST(BootstrapPolicy, GrantsWhatUpstreamGrants) {
  TempStore store;
  ensureBootstrapPolicy(store.store());
  // Users bound to the aggregated roles.
  for (const auto& [who, role] : std::vector<std::pair<std::string, std::string>>{
           {"viewer", "view"}, {"editor", "edit"}, {"administrator", "admin"}}) {
    rbacv1::RoleBinding b;
    b.metadata.name = who;
    b.metadata.namespace_ = "team";
    b.roleRef = {rbac::kGroup, "ClusterRole", role};
    b.subjects = {userSubject(who)};
    store.putObject("/registry/rbac.authorization.k8s.io/rolebindings/team/" + who, b);
  }
  RbacAuthorizer authz(store.store());
  auto can = [&](const UserInfo& u, const Attributes& a) { return authz.authorize(u, a).allowed; };

  const auto anyone = user("someone");
  EXPECT_TRUE(can(anyone, path("get", "/version")));
  EXPECT_TRUE(can(anyone, path("get", "/apis/apps/v1")));
  EXPECT_TRUE(can(anyone, res("create", "authorization.k8s.io", "selfsubjectaccessreviews")));
  EXPECT_TRUE(can(anyone, res("create", "authentication.k8s.io", "selfsubjectreviews")));
  EXPECT_FALSE(can(anyone, res("list", "", "pods", "team")));
  const auto anonymous = user("system:anonymous", {"system:unauthenticated"});
  EXPECT_TRUE(can(anonymous, path("get", "/healthz")));
  EXPECT_FALSE(can(anonymous, path("get", "/apis")));

  const auto viewer = user("viewer");
  EXPECT_TRUE(can(viewer, res("list", "", "pods", "team")));
  EXPECT_TRUE(can(viewer, res("get", "apps", "deployments", "team")));
  EXPECT_TRUE(can(viewer, res("get", "", "pods", "team", "log")));
  EXPECT_FALSE(can(viewer, res("get", "", "secrets", "team")));
  EXPECT_FALSE(can(viewer, res("delete", "", "pods", "team")));
  EXPECT_FALSE(can(viewer, res("list", "", "pods", "other")));

  const auto editor = user("editor");
  EXPECT_TRUE(can(editor, res("get", "", "secrets", "team")));
  EXPECT_TRUE(can(editor, res("create", "apps", "deployments", "team")));
  EXPECT_TRUE(can(editor, res("update", "apps", "deployments", "team", "scale")));
  EXPECT_TRUE(can(editor, res("list", "", "configmaps", "team")));  // from view
  EXPECT_FALSE(can(editor, res("create", "rbac.authorization.k8s.io", "rolebindings", "team")));

  const auto administrator = user("administrator");
  EXPECT_TRUE(
      can(administrator, res("create", "rbac.authorization.k8s.io", "rolebindings", "team")));
  EXPECT_TRUE(can(administrator, res("delete", "", "services", "team")));  // from edit
  EXPECT_TRUE(can(administrator, res("watch", "", "endpoints", "team")));  // from view

  const auto master = user("kubernetes-admin", {"system:masters", "system:authenticated"});
  EXPECT_TRUE(can(master, res("delete", "", "nodes")));

  const auto proxy = user("system:kube-proxy");
  EXPECT_TRUE(can(proxy, res("watch", "discovery.k8s.io", "endpointslices")));
  EXPECT_FALSE(can(proxy, res("get", "", "secrets", "team")));
  const auto scheduler = user("system:kube-scheduler");
  EXPECT_TRUE(can(scheduler, res("create", "", "pods", "team", "binding")));
  const auto joiner = user("kite-bootstrap", {"system:bootstrappers", "system:authenticated"});
  EXPECT_TRUE(can(joiner, res("create", "certificates.k8s.io", "certificatesigningrequests")));
  // Nodes get nothing through RBAC: the node authorizer handles them.
  const auto node = user("system:node:n1", {"system:nodes", "system:authenticated"});
  EXPECT_FALSE(can(node, res("get", "", "secrets", "team")));
}

}  // namespace
}  // namespace kite::controlplane
