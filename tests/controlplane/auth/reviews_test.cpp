// The review kinds (apiserver/src/reviews.h) and the RBAC kinds' validation and columns
// (apiserver/src/kinds/rbac.cpp), with the RBAC authorizer over SQLite behind the reviews.
#include "reviews.h"

#include <gtest/gtest.h>

#include "api_error.h"
#include "auth_test_store.h"
#include "kite/api/authentication/v1/types.h"
#include "kite/api/authorization/v1/types.h"
#include "kite/controlplane/rbac.h"
#include "registry.h"

namespace kite::controlplane {
namespace {

namespace rbacv1 = api::rbac::v1;
namespace authzv1 = api::authorization::v1;
namespace authnv1 = api::authentication::v1;
using apiserver::ApiError;
using apiserver::ReviewContext;
using apiserver::reviewJson;
using testing::TempStore;

class TokenAuthenticator final : public Authenticator {
 public:
  std::optional<UserInfo> authenticate(const http::Request& request) override {
    auto h = request.header("authorization");
    if (!h) return std::nullopt;
    if (*h == "Bearer good")
      return UserInfo{"system:serviceaccount:ns:sa", {"system:serviceaccounts"}, "u-1"};
    throw std::invalid_argument("invalid bearer token");
  }
};

class ReviewsTest : public ::testing::Test {
 protected:
  ReviewsTest() {
    rbacv1::ClusterRole role;
    role.metadata.name = "pod-reader";
    rbacv1::PolicyRule r;
    r.verbs = {"get", "list"};
    r.apiGroups = {""};
    r.resources = {"pods"};
    role.rules = {r};
    rbacv1::PolicyRule u;
    u.verbs = {"get"};
    u.nonResourceURLs = {"/metrics"};
    role.rules.push_back(u);
    store.putObject("/registry/rbac.authorization.k8s.io/clusterroles/pod-reader", role);
    rbacv1::RoleBinding b;
    b.metadata.name = "alice-reads";
    b.metadata.namespace_ = "dev";
    b.roleRef = {rbac::kGroup, "ClusterRole", "pod-reader"};
    rbacv1::Subject s;
    s.kind = "User";
    s.apiGroup = rbac::kGroup;
    s.name = "alice";
    b.subjects = {s};
    store.putObject("/registry/rbac.authorization.k8s.io/rolebindings/dev/alice-reads", b);
    authz = std::make_unique<RbacAuthorizer>(store.store());
    context.authorizer = authz.get();
    context.authenticator = &authenticator;
    context.rules = [this](const UserInfo& user, std::string_view ns) {
      auto rules = authz->rulesFor(user, ns);
      return apiserver::UserRules{rules.rules, rules.errors};
    };
  }

  TempStore store;
  std::unique_ptr<RbacAuthorizer> authz;
  TokenAuthenticator authenticator;
  ReviewContext context;
  const UserInfo alice{"alice", {"system:authenticated"}, ""};
};

TEST_F(ReviewsTest, SelfSubjectAccessReviewAsKubectlAuthCanISendsIt) {
  const std::string body =
      R"({"kind":"SelfSubjectAccessReview","apiVersion":"authorization.k8s.io/v1",)"
      R"("metadata":{"creationTimestamp":null},"spec":{"resourceAttributes":)"
      R"({"namespace":"dev","verb":"list","resource":"pods"}},"status":{"allowed":false}})";
  auto out = api::decodeJson<authzv1::SelfSubjectAccessReview>(
      reviewJson("SelfSubjectAccessReview", body, alice, context));
  EXPECT_EQ(out.kind, "SelfSubjectAccessReview");
  EXPECT_EQ(out.apiVersion, "authorization.k8s.io/v1");
  EXPECT_TRUE(out.status.allowed);
  EXPECT_EQ(out.status.reason,
            "RBAC: allowed by RoleBinding \"alice-reads/dev\" of ClusterRole \"pod-reader\" to "
            "User \"alice\"");

  const std::string other =
      R"({"spec":{"resourceAttributes":{"namespace":"prod","verb":"list","resource":"pods"}}})";
  out = api::decodeJson<authzv1::SelfSubjectAccessReview>(
      reviewJson("SelfSubjectAccessReview", other, alice, context));
  EXPECT_FALSE(out.status.allowed);
  EXPECT_FALSE(out.status.denied);

  const std::string url = R"({"spec":{"nonResourceAttributes":{"path":"/metrics","verb":"get"}}})";
  out = api::decodeJson<authzv1::SelfSubjectAccessReview>(
      reviewJson("SelfSubjectAccessReview", url, alice, context));
  EXPECT_FALSE(out.status.allowed);  // the binding is namespaced: no URL rules through it
}

TEST_F(ReviewsTest, BadBodiesAndSpecs) {
  try {
    reviewJson("SelfSubjectAccessReview", R"({"spec":{}})", alice, context);
    FAIL() << "no error";
  } catch (const ApiError& e) {
    EXPECT_EQ(e.code(), 422);
    EXPECT_EQ(e.status().message,
              "SelfSubjectAccessReview.authorization.k8s.io \"\" is invalid: "
              "spec.resourceAttributes: Invalid value: \"null\": exactly one of "
              "nonResourceAttributes or resourceAttributes must be specified");
  }
  try {
    reviewJson("SelfSubjectAccessReview", "{not json", alice, context);
    FAIL() << "no error";
  } catch (const ApiError& e) {
    EXPECT_EQ(e.code(), 400);
  }
  try {
    reviewJson("SelfSubjectAccessReview", R"({"kind":"TokenReview"})", alice, context);
    FAIL() << "no error";
  } catch (const ApiError& e) {
    EXPECT_EQ(e.code(), 400);
  }
  try {
    reviewJson("SubjectAccessReview",
               R"({"spec":{"resourceAttributes":{"verb":"get","resource":"pods"}}})", alice,
               context);
    FAIL() << "no error";
  } catch (const ApiError& e) {
    EXPECT_EQ(e.code(), 422);
    EXPECT_NE(e.status().message.find("at least one of user or group must be specified"),
              std::string::npos);
  }
}

TEST_F(ReviewsTest, SubjectAccessReviewsForOtherUsers) {
  const std::string body =
      R"({"spec":{"user":"alice","resourceAttributes":{"namespace":"dev","verb":"get",)"
      R"("resource":"pods","name":"web"}}})";
  auto out = api::decodeJson<authzv1::SubjectAccessReview>(
      reviewJson("SubjectAccessReview", body, UserInfo{"admin", {"system:masters"}, ""}, context));
  EXPECT_TRUE(out.status.allowed);
  const std::string bob =
      R"({"spec":{"user":"bob","groups":["devs"],"resourceAttributes":{"namespace":"dev",)"
      R"("verb":"get","resource":"pods"}}})";
  out = api::decodeJson<authzv1::SubjectAccessReview>(
      reviewJson("SubjectAccessReview", bob, alice, context));
  EXPECT_FALSE(out.status.allowed);

  context.namespace_ = "dev";
  auto local = api::decodeJson<authzv1::LocalSubjectAccessReview>(
      reviewJson("LocalSubjectAccessReview", body, alice, context));
  EXPECT_TRUE(local.status.allowed);
  EXPECT_EQ(local.metadata.namespace_, "dev");
  context.namespace_ = "prod";
  try {
    reviewJson("LocalSubjectAccessReview", body, alice, context);
    FAIL() << "no error";
  } catch (const ApiError& e) {
    EXPECT_EQ(e.code(), 400);
    EXPECT_EQ(e.status().message, "spec.resourceAttributes.namespace must match namespace: prod");
  }
}

TEST_F(ReviewsTest, SelfSubjectRulesReview) {
  auto out = api::decodeJson<authzv1::SelfSubjectRulesReview>(
      reviewJson("SelfSubjectRulesReview", R"({"spec":{"namespace":"dev"}})", alice, context));
  ASSERT_EQ(out.status.resourceRules.size(), 1U);
  EXPECT_EQ(out.status.resourceRules[0].resources, std::vector<std::string>{"pods"});
  ASSERT_EQ(out.status.nonResourceRules.size(), 1U);
  EXPECT_FALSE(out.status.incomplete);
  out = api::decodeJson<authzv1::SelfSubjectRulesReview>(
      reviewJson("SelfSubjectRulesReview", R"({"spec":{"namespace":"prod"}})", alice, context));
  EXPECT_TRUE(out.status.resourceRules.empty());
}

TEST_F(ReviewsTest, TokenReviewAndWhoAmI) {
  auto out = api::decodeJson<authnv1::TokenReview>(reviewJson(
      "TokenReview", R"({"spec":{"token":"good","audiences":["api"]}})", alice, context));
  EXPECT_TRUE(out.status.authenticated);
  EXPECT_EQ(out.status.user.username, "system:serviceaccount:ns:sa");
  EXPECT_EQ(out.status.user.uid, "u-1");
  EXPECT_EQ(out.status.user.groups,
            (std::vector<std::string>{"system:serviceaccounts", "system:authenticated"}));
  EXPECT_EQ(out.spec.token, "good");

  out = api::decodeJson<authnv1::TokenReview>(
      reviewJson("TokenReview", R"({"spec":{"token":"bad"}})", alice, context));
  EXPECT_FALSE(out.status.authenticated);
  EXPECT_EQ(out.status.error, "invalid bearer token");
  EXPECT_THROW(reviewJson("TokenReview", R"({"spec":{}})", alice, context), ApiError);

  auto who = api::decodeJson<authnv1::SelfSubjectReview>(reviewJson(
      "SelfSubjectReview",
      R"({"kind":"SelfSubjectReview","apiVersion":"authentication.k8s.io/v1"})", alice, context));
  EXPECT_EQ(who.status.userInfo.username, "alice");
  EXPECT_EQ(who.status.userInfo.groups, std::vector<std::string>{"system:authenticated"});
  EXPECT_TRUE(apiserver::isReviewKind("TokenReview"));
  EXPECT_FALSE(apiserver::isReviewKind("Pod"));
}

// The RBAC kinds as the REST layer sees them.
class RbacKindsTest : public ::testing::Test {
 protected:
  const apiserver::ResourceType& type(const char* resource) {
    const auto* t = registry.find(rbac::kGroup, "v1", resource);
    EXPECT_NE(t, nullptr) << resource;
    return *t;
  }
  std::vector<std::string> errorsOf(const char* resource, const std::string& json,
                                    const std::string& oldJson = {}) {
    const auto& t = type(resource);
    auto object = t.decode(json, {});
    std::unique_ptr<apiserver::ApiObject> old;
    if (!oldJson.empty()) old = t.decode(oldJson, {});
    std::vector<std::string> out;
    for (const auto& e : t.validate(*object, old.get())) {
      out.push_back(api::aggregateMessage({e}));
    }
    return out;
  }
  apiserver::Registry registry = apiserver::Registry::builtin();
};

TEST_F(RbacKindsTest, ScopesAndNames) {
  EXPECT_TRUE(type("roles").info().namespaced);
  EXPECT_TRUE(type("rolebindings").info().namespaced);
  EXPECT_FALSE(type("clusterroles").info().namespaced);
  EXPECT_FALSE(type("clusterrolebindings").info().namespaced);
  EXPECT_EQ(type("clusterroles").info().kind, "ClusterRole");
  // RBAC names are path segments: "system:node" is fine, "a/b" is not.
  EXPECT_TRUE(errorsOf("clusterroles", R"({"metadata":{"name":"system:node"}})").empty());
  EXPECT_EQ(errorsOf("clusterroles", R"({"metadata":{"name":"a/b"}})"),
            std::vector<std::string>{"metadata.name: Invalid value: \"a/b\": may not contain '/'"});
}

TEST_F(RbacKindsTest, RuleValidation) {
  EXPECT_EQ(
      errorsOf("roles", R"({"metadata":{"name":"r","namespace":"d"},"rules":[{"apiGroups":[""],)"
                        R"("resources":["pods"]}]})"),
      std::vector<std::string>{
          "rules[0].verbs: Required value: verbs must contain at least one value"});
  EXPECT_EQ(
      errorsOf("roles", R"({"metadata":{"name":"r","namespace":"d"},"rules":[{"verbs":["get"]}]})"),
      (std::vector<std::string>{
          "rules[0].apiGroups: Required value: resource rules must supply at least one api group",
          "rules[0].resources: Required value: resource rules must supply at least one resource"}));
  EXPECT_EQ(
      errorsOf("roles", R"({"metadata":{"name":"r","namespace":"d"},"rules":[{"verbs":)"
                        R"(["get"],"nonResourceURLs":["/healthz"]}]})"),
      std::vector<std::string>{"rules[0].nonResourceURLs: Invalid value: []string{\"/healthz\"}: "
                               "namespaced rules cannot apply to non-resource URLs"});
  EXPECT_TRUE(errorsOf("clusterroles", R"({"metadata":{"name":"r"},"rules":[{"verbs":["get"],)"
                                       R"("nonResourceURLs":["/healthz"]}]})")
                  .empty());
  EXPECT_TRUE(errorsOf("clusterroles",
                       R"({"metadata":{"name":"agg"},"aggregationRule":{"clusterRoleSelectors":)"
                       R"([{"matchLabels":{"a":"b"}}]}})")
                  .empty());
}

TEST_F(RbacKindsTest, BindingsAndImmutableRoleRef) {
  const std::string binding =
      R"({"metadata":{"name":"b","namespace":"d"},"roleRef":{"apiGroup":)"
      R"("rbac.authorization.k8s.io","kind":"Role","name":"r1"},"subjects":[{"kind":"User",)"
      R"("apiGroup":"rbac.authorization.k8s.io","name":"alice"},{"kind":"ServiceAccount",)"
      R"("name":"sa","namespace":"d"}]})";
  EXPECT_TRUE(errorsOf("rolebindings", binding).empty());
  std::string changed = binding;
  changed.replace(changed.find("\"r1\""), 4, "\"r2\"");
  EXPECT_EQ(errorsOf("rolebindings", changed, binding),
            std::vector<std::string>{
                "roleRef: Invalid value: rbac.RoleRef{APIGroup:\"rbac.authorization.k8s.io\", "
                "Kind:\"Role\", Name:\"r2\"}: cannot change roleRef"});
  EXPECT_EQ(
      errorsOf("clusterrolebindings",
               R"({"metadata":{"name":"b"},"roleRef":{"apiGroup":"rbac.authorization.k8s.io",)"
               R"("kind":"Role","name":"r"},"subjects":[{"kind":"ServiceAccount","name":"sa"}]})"),
      (std::vector<std::string>{
          "roleRef.kind: Unsupported value: \"Role\": supported values: \"ClusterRole\"",
          "subjects[0].namespace: Required value"}));

  const auto& t = type("rolebindings");
  std::vector<std::string> names;
  for (const auto& c : t.tableColumns()) names.push_back(c.name);
  EXPECT_EQ(names, (std::vector<std::string>{"Name", "Role", "Age", "Users", "Groups",
                                             "ServiceAccounts"}));
  const auto row = t.tableRow(*t.decode(binding, {}), std::chrono::system_clock::now());
  ASSERT_EQ(row.size(), 6U);
  EXPECT_EQ(std::get<std::string>(row[1]), "Role/r1");
  EXPECT_EQ(std::get<std::string>(row[3]), "alice");
  EXPECT_EQ(std::get<std::string>(row[5]), "d:sa");
  names.clear();
  for (const auto& c : type("clusterroles").tableColumns()) names.push_back(c.name);
  EXPECT_EQ(names, (std::vector<std::string>{"Name", "Created At"}));
}

}  // namespace
}  // namespace kite::controlplane
