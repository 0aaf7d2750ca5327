#include <gtest/gtest.h>

#include <atomic>
#include <mutex>

#include "auth_test_store.h"
#include "kite/controlplane/rbac.h"

namespace kite::controlplane {
namespace {

namespace rbacv1 = api::rbac::v1;
using testing::eventually;
using testing::TempStore;

std::string rbacKey(const std::string& rest) {
  return "/registry/rbac.authorization.k8s.io/" + rest;
}

rbacv1::PolicyRule rule(std::vector<std::string> verbs, std::vector<std::string> groups,
                        std::vector<std::string> resources, std::vector<std::string> names = {}) {
  rbacv1::PolicyRule r;
  r.verbs = std::move(verbs);
  r.apiGroups = std::move(groups);
  r.resources = std::move(resources);
  r.resourceNames = std::move(names);
  return r;
}

rbacv1::PolicyRule urlRule(std::vector<std::string> verbs, std::vector<std::string> urls) {
  rbacv1::PolicyRule r;
  r.verbs = std::move(verbs);
  r.nonResourceURLs = std::move(urls);
  return r;
}

rbacv1::Subject subject(std::string kind, std::string name, std::string ns = {}) {
  rbacv1::Subject s;
  s.kind = std::move(kind);
  s.name = std::move(name);
  s.namespace_ = std::move(ns);
  if (s.kind != "ServiceAccount") s.apiGroup = rbac::kGroup;
  return s;
}

Attributes resource(std::string verb, std::string group, std::string res, std::string ns = {},
                    std::string name = {}, std::string sub = {}) {
  Attributes a;
  a.verb = std::move(verb);
  a.group = std::move(group);
  a.version = "v1";
  a.resource = std::move(res);
  a.namespace_ = std::move(ns);
  a.name = std::move(name);
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

UserInfo user(std::string name, std::vector<std::string> groups = {}) {
  groups.emplace_back("system:authenticated");
  return UserInfo{std::move(name), std::move(groups), ""};
}

class RbacAuthorizerTest : public ::testing::Test {
 protected:
  void clusterRole(const std::string& name, std::vector<rbacv1::PolicyRule> rules,
                   std::map<std::string, std::string> labels = {},
                   std::vector<std::map<std::string, std::string>> aggregate = {}) {
    rbacv1::ClusterRole r;
    r.apiVersion = "rbac.authorization.k8s.io/v1";
    r.kind = "ClusterRole";
    r.metadata.name = name;
    r.metadata.labels = std::move(labels);
    r.rules = std::move(rules);
    if (!aggregate.empty()) {
      r.aggregationRule.emplace();
      for (auto& m : aggregate) {
        api::meta::v1::LabelSelector s;
        s.matchLabels = std::move(m);
        r.aggregationRule->clusterRoleSelectors.push_back(std::move(s));
      }
    }
    store.putObject(rbacKey("clusterroles/" + name), r);
  }
  void role(const std::string& ns, const std::string& name, std::vector<rbacv1::PolicyRule> rules) {
    rbacv1::Role r;
    r.metadata.name = name;
    r.metadata.namespace_ = ns;
    r.rules = std::move(rules);
    store.putObject(rbacKey("roles/" + ns + "/" + name), r);
  }
  void clusterBinding(const std::string& name, const std::string& roleName,
                      std::vector<rbacv1::Subject> subjects) {
    rbacv1::ClusterRoleBinding b;
    b.metadata.name = name;
    b.roleRef = {rbac::kGroup, "ClusterRole", roleName};
    b.subjects = std::move(subjects);
    store.putObject(rbacKey("clusterrolebindings/" + name), b);
  }
  void binding(const std::string& ns, const std::string& name, const std::string& kind,
               const std::string& roleName, std::vector<rbacv1::Subject> subjects) {
    rbacv1::RoleBinding b;
    b.metadata.name = name;
    b.metadata.namespace_ = ns;
    b.roleRef = {rbac::kGroup, kind, roleName};
    b.subjects = std::move(subjects);
    store.putObject(rbacKey("rolebindings/" + ns + "/" + name), b);
  }

  TempStore store;
};

TEST(RbacRules, VerbsGroupsResourcesAndWildcards) {
  const auto r = rule({"get", "list"}, {"", "apps"}, {"pods", "deployments"});
  EXPECT_TRUE(rbac::ruleAllows(resource("get", "", "pods", "ns"), r));
  EXPECT_TRUE(rbac::ruleAllows(resource("list", "apps", "deployments"), r));
  EXPECT_FALSE(rbac::ruleAllows(resource("delete", "", "pods", "ns"), r));
  EXPECT_FALSE(rbac::ruleAllows(resource("get", "batch", "pods"), r));
  EXPECT_FALSE(rbac::ruleAllows(resource("get", "", "secrets"), r));
  // A rule on pods does not cover their subresources.
  EXPECT_FALSE(rbac::ruleAllows(resource("get", "", "pods", "ns", "p", "log"), r));

  const auto star = rule({"*"}, {"*"}, {"*"});
  EXPECT_TRUE(rbac::ruleAllows(resource("deletecollection", "x.io", "things"), star));
  EXPECT_TRUE(rbac::ruleAllows(resource("get", "", "pods", "ns", "p", "status"), star));
  EXPECT_FALSE(rbac::ruleAllows(path("get", "/healthz"), star));
}

TEST(RbacRules, SubresourcesAndResourceNames) {
  EXPECT_TRUE(rbac::ruleAllows(resource("update", "", "pods", "ns", "p", "status"),
                               rule({"update"}, {""}, {"pods/status"})));
  EXPECT_FALSE(rbac::ruleAllows(resource("update", "", "pods", "ns", "p"),
                                rule({"update"}, {""}, {"pods/status"})));
  const auto anyScale = rule({"get", "update"}, {"*"}, {"*/scale"});
  EXPECT_TRUE(
      rbac::ruleAllows(resource("update", "apps", "deployments", "ns", "d", "scale"), anyScale));
  EXPECT_FALSE(
      rbac::ruleAllows(resource("update", "apps", "deployments", "ns", "d", "status"), anyScale));
  EXPECT_FALSE(rbac::ruleAllows(resource("update", "apps", "deployments", "ns", "d"), anyScale));

  const auto named = rule({"get"}, {""}, {"configmaps"}, {"settings"});
  EXPECT_TRUE(rbac::ruleAllows(resource("get", "", "configmaps", "ns", "settings"), named));
  EXPECT_FALSE(rbac::ruleAllows(resource("get", "", "configmaps", "ns", "other"), named));
  EXPECT_FALSE(rbac::ruleAllows(resource("list", "", "configmaps", "ns"), named));
}

TEST(RbacRules, NonResourceUrls) {
  const auto r = urlRule({"get"}, {"/healthz", "/apis/*"});
  EXPECT_TRUE(rbac::ruleAllows(path("get", "/healthz"), r));
  EXPECT_FALSE(rbac::ruleAllows(path("get", "/healthz/ping"), r));
  EXPECT_TRUE(rbac::ruleAllows(path("get", "/apis/apps/v1"), r));
  EXPECT_TRUE(rbac::ruleAllows(path("get", "/apis/"), r));
  EXPECT_FALSE(rbac::ruleAllows(path("get", "/apis"), r));
  EXPECT_FALSE(rbac::ruleAllows(path("post", "/healthz"), r));
  EXPECT_TRUE(rbac::ruleAllows(path("get", "/anything"), urlRule({"*"}, {"*"})));
  // URL rules never grant resources.
  EXPECT_FALSE(rbac::ruleAllows(resource("get", "", "pods"), urlRule({"*"}, {"*"})));
}

TEST(RbacRules, Subjects) {
  const auto alice = user("alice", {"devs"});
  EXPECT_TRUE(rbac::subjectMatches(subject("User", "alice"), alice, ""));
  EXPECT_FALSE(rbac::subjectMatches(subject("User", "bob"), alice, ""));
  EXPECT_TRUE(rbac::subjectMatches(subject("Group", "devs"), alice, ""));
  EXPECT_TRUE(rbac::subjectMatches(subject("Group", "system:authenticated"), alice, ""));
  const auto sa = user("system:serviceaccount:team:builder");
  EXPECT_TRUE(rbac::subjectMatches(subject("ServiceAccount", "builder", "team"), sa, ""));
  EXPECT_TRUE(rbac::subjectMatches(subject("ServiceAccount", "builder"), sa, "team"));
  EXPECT_FALSE(rbac::subjectMatches(subject("ServiceAccount", "builder"), sa, ""));
  EXPECT_FALSE(rbac::subjectMatches(subject("ServiceAccount", "builder", "other"), sa, "team"));
}

TEST_F(RbacAuthorizerTest, SuperuserGroupMayDoEverything) {
  RbacAuthorizer authz(store.store());
  EXPECT_TRUE(
      authz.authorize(user("admin", {"system:masters"}), resource("delete", "", "nodes")).allowed);
  EXPECT_TRUE(authz.authorize(user("admin", {"system:masters"}), path("get", "/metrics")).allowed);
  const auto d = authz.authorize(user("nobody"), resource("get", "", "pods", "default"));
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.reason, "");
}

TEST_F(RbacAuthorizerTest, ClusterRoleBindingAndReason) {
  clusterRole("pod-reader", {rule({"get", "list", "watch"}, {""}, {"pods"})});
  clusterBinding("read-pods", "pod-reader", {subject("User", "alice"), subject("Group", "ops")});
  RbacAuthorizer authz(store.store());

  auto d = authz.authorize(user("alice"), resource("list", "", "pods", "default"));
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.reason,
            "RBAC: allowed by ClusterRoleBinding \"read-pods\" of ClusterRole \"pod-reader\" to "
            "User \"alice\"");
  d = authz.authorize(user("carol", {"ops"}), resource("get", "", "pods"));
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.reason,
            "RBAC: allowed by ClusterRoleBinding \"read-pods\" of ClusterRole \"pod-reader\" to "
            "Group \"ops\"");
  EXPECT_FALSE(authz.authorize(user("alice"), resource("delete", "", "pods", "default")).allowed);
  EXPECT_FALSE(authz.authorize(user("bob"), resource("get", "", "pods", "default")).allowed);
}

TEST_F(RbacAuthorizerTest, RoleBindingsAreLimitedToTheirNamespace) {
  role("team", "deployer", {rule({"create", "update"}, {"apps"}, {"deployments"})});
  clusterRole("secret-reader", {rule({"get"}, {""}, {"secrets"})});
  binding("team", "deployers", "Role", "deployer", {subject("ServiceAccount", "ci")});
  binding("team", "secrets", "ClusterRole", "secret-reader", {subject("User", "dana")});
  RbacAuthorizer authz(store.store());

  const auto ci = user("system:serviceaccount:team:ci", {"system:serviceaccounts"});
  auto d = authz.authorize(ci, resource("create", "apps", "deployments", "team"));
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.reason,
            "RBAC: allowed by RoleBinding \"deployers/team\" of Role \"deployer\" to "
            "ServiceAccount \"team/ci\"");
  EXPECT_FALSE(authz.authorize(ci, resource("create", "apps", "deployments", "other")).allowed);
  EXPECT_FALSE(authz.authorize(ci, resource("create", "apps", "deployments")).allowed);

  EXPECT_TRUE(authz.authorize(user("dana"), resource("get", "", "secrets", "team", "s")).allowed);
  EXPECT_FALSE(
      authz.authorize(user("dana"), resource("get", "", "secrets", "default", "s")).allowed);
}

TEST_F(RbacAuthorizerTest, MissingRolesAreReported) {
  binding("team", "dangling", "Role", "gone", {subject("User", "erin")});
  clusterBinding("dangling", "also-gone", {subject("User", "erin")});
  RbacAuthorizer authz(store.store());
  const auto d = authz.authorize(user("erin"), resource("get", "", "pods", "team"));
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.reason,
            "RBAC: [clusterrole.rbac.authorization.k8s.io \"also-gone\" not found, "
            "role.rbac.authorization.k8s.io \"gone\" not found]");
}

TEST_F(RbacAuthorizerTest, NonResourceUrlsThroughBindings) {
  clusterRole("health", {urlRule({"get"}, {"/healthz", "/livez", "/version*"})});
  clusterBinding("health", "health", {subject("Group", "system:authenticated")});
  RbacAuthorizer authz(store.store());
  EXPECT_TRUE(authz.authorize(user("frank"), path("get", "/healthz")).allowed);
  EXPECT_TRUE(authz.authorize(user("frank"), path("get", "/version/")).allowed);
  EXPECT_FALSE(authz.authorize(user("frank"), path("get", "/metrics")).allowed);
}

TEST_F(RbacAuthorizerTest, AggregatedClusterRolesTakeTheUnionOfSelectedRoles) {
  const std::string toView = "rbac.authorization.k8s.io/aggregate-to-view";
  const std::string toEdit = "rbac.authorization.k8s.io/aggregate-to-edit";
  clusterRole("view", {rule({"delete"}, {"*"}, {"*"})}, {{toEdit, "true"}}, {{{toView, "true"}}});
  clusterRole("edit", {}, {}, {{{toEdit, "true"}}});
  clusterRole("view-pods", {rule({"get"}, {""}, {"pods"})}, {{toView, "true"}});
  clusterBinding("viewers", "view", {subject("User", "gina")});
  clusterBinding("editors", "edit", {subject("User", "hank")});
  RbacAuthorizer authz(store.store());

  EXPECT_TRUE(authz.authorize(user("gina"), resource("get", "", "pods", "x")).allowed);
  // An aggregated role's own rules are replaced by the union.
  EXPECT_FALSE(authz.authorize(user("gina"), resource("delete", "", "pods", "x")).allowed);
  // edit aggregates view, which aggregates view-pods.
  EXPECT_TRUE(authz.authorize(user("hank"), resource("get", "", "pods", "x")).allowed);
  EXPECT_FALSE(authz.authorize(user("hank"), resource("get", "", "secrets", "x")).allowed);

  // A new role with the label joins the aggregation once the watch delivers it.
  clusterRole("view-secrets", {rule({"get"}, {""}, {"secrets"})}, {{toView, "true"}});
  EXPECT_TRUE(eventually(
      [&] { return authz.authorize(user("hank"), resource("get", "", "secrets", "x")).allowed; }));
  EXPECT_TRUE(authz.authorize(user("gina"), resource("get", "", "secrets", "x")).allowed);

  const auto rules = authz.rulesFor(user("gina"), "x");
  EXPECT_EQ(rules.rules.size(), 2U);
  EXPECT_TRUE(rules.errors.empty());
}

TEST_F(RbacAuthorizerTest, FollowsBindingsAsTheyAreCreatedAndDeleted) {
  RbacAuthorizer authz(store.store());
  const auto ivan = user("ivan");
  const auto get = resource("get", "", "configmaps", "apps", "cfg");
  EXPECT_FALSE(authz.authorize(ivan, get).allowed);

  role("apps", "cm", {rule({"get"}, {""}, {"configmaps"})});
  binding("apps", "ivan-cm", "Role", "cm", {subject("User", "ivan")});
  EXPECT_TRUE(eventually([&] { return authz.authorize(ivan, get).allowed; }));

  store.remove(rbacKey("rolebindings/apps/ivan-cm"));
  EXPECT_TRUE(eventually([&] { return !authz.authorize(ivan, get).allowed; }));

  clusterRole("cm-all", {rule({"*"}, {""}, {"configmaps"})});
  clusterBinding("ivan-all", "cm-all", {subject("User", "ivan")});
  EXPECT_TRUE(eventually([&] { return authz.authorize(ivan, get).allowed; }));
  // The role changes under the binding.
  clusterRole("cm-all", {rule({"list"}, {""}, {"configmaps"})});
  EXPECT_TRUE(eventually([&] { return !authz.authorize(ivan, get).allowed; }));
}

// Delegates to a real store but lets the test lose a watch's events and end the watch, as
// a compaction overtaking a slow watcher does.
class LossyStore final : public Store {
 public:
  explicit LossyStore(Store& inner) : inner_(inner) {}

  Revision currentRevision() override { return inner_.currentRevision(); }
  Revision compactedRevision() override { return inner_.compactedRevision(); }
  std::optional<KeyValue> get(std::string_view key) override { return inner_.get(key); }
  RangeResult range(const RangeRequest& request) override { return inner_.range(request); }
  std::int64_t count(std::string_view prefix) override { return inner_.count(prefix); }
  WriteResult create(std::string_view key, std::string_view value) override {
    return inner_.create(key, value);
  }
  WriteResult update(std::string_view key, std::string_view value, Revision expected) override {
    return inner_.update(key, value, expected);
  }
  WriteResult remove(std::string_view key, Revision expected) override {
    return inner_.remove(key, expected);
  }
  std::unique_ptr<Watch> watch(std::string_view prefix, Revision after,
                               WatchCallbacks callbacks) override {
    auto onError = callbacks.onError;
    {
      std::lock_guard lock(mutex_);
      ++watches_;
      endWatch_ = [onError] { onError(StoreError(StoreErrorCode::kCompacted, "compacted")); };
    }
    callbacks.onEvents = [this, onEvents = callbacks.onEvents](const std::vector<WatchEvent>& e) {
      if (!dropping_) onEvents(e);
    };
    return inner_.watch(prefix, after, std::move(callbacks));
  }
  void compact(Revision revision) override { inner_.compact(revision); }

  void dropEvents(bool drop) { dropping_ = drop; }
  void endWatch() {
    std::lock_guard lock(mutex_);
    endWatch_();
  }
  int watches() {
    std::lock_guard lock(mutex_);
    return watches_;
  }

 private:
  Store& inner_;
  std::atomic<bool> dropping_{false};
  std::mutex mutex_;
  std::function<void()> endWatch_;
  int watches_ = 0;
};

TEST_F(RbacAuthorizerTest, RelistsWhenTheWatchEnds) {
  LossyStore lossy(store.store());
  RbacAuthorizer authz(lossy);
  const auto judy = user("judy");
  const auto list = resource("list", "", "services", "web");
  EXPECT_EQ(lossy.watches(), 1);

  lossy.dropEvents(true);
  clusterRole("svc", {rule({"list"}, {""}, {"services"})});
  clusterBinding("judy", "svc", {subject("User", "judy")});
  EXPECT_FALSE(authz.authorize(judy, list).allowed);  // the events were lost
  lossy.dropEvents(false);
  lossy.endWatch();
  EXPECT_TRUE(eventually([&] { return authz.authorize(judy, list).allowed; }));
  EXPECT_TRUE(eventually([&] { return lossy.watches() == 2; }));
}

}  // namespace
}  // namespace kite::controlplane
