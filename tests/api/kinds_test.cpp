// The API groups beyond core and apps: every kind decodes strictly from a realistic example
// (testdata/kinds/*.yaml), encodes, and decodes back to an equal object; unknown fields are
// errors that name their path.

#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "kite/api/apps/v1/types.h"
#include "kite/api/authentication/v1/types.h"
#include "kite/api/authorization/v1/types.h"
#include "kite/api/autoscaling/v1/types.h"
#include "kite/api/batch/v1/types.h"
#include "kite/api/core/v1/types.h"
#include "kite/api/events/v1/types.h"
#include "kite/api/field_errors.h"
#include "kite/api/json.h"
#include "kite/api/meta/v1/types.h"
#include "kite/api/networking/v1/types.h"
#include "kite/api/policy/v1/types.h"
#include "kite/api/rbac/v1/types.h"
#include "kite/api/registry_info.h"
#include "kite/api/scheduling/v1/types.h"
#include "kite/api/storage/v1/types.h"
#include "test_util.h"

namespace kite::api {
namespace {

using testing::readTestdata;
using testing::sameJson;

// Decodes strictly, encodes, decodes again: the two objects must be equal and encoding the
// second must give the same text. Returns the first encoding.
template <class T>
std::string roundTrip(const std::string& json) {
  const auto first = decodeJson<T>(json, {.strict = true});
  std::string encoded = encodeJson(first);
  const auto second = decodeJson<T>(encoded, {.strict = true});
  EXPECT_TRUE(first == second) << T::kKind << ": decode(encode(x)) != x\n" << encoded;
  EXPECT_EQ(encodeJson(second), encoded) << T::kKind;
  return encoded;
}

using RoundTrip = std::function<std::string(const std::string&)>;

template <class T>
std::pair<const std::string, RoundTrip> entry() {
  std::string key(T::kApiVersion);
  key.append("/").append(T::kKind);
  return {key, &roundTrip<T>};
}

const std::map<std::string, RoundTrip>& kinds() {
  static const std::map<std::string, RoundTrip> table = {
      entry<batch::v1::Job>(),
      entry<batch::v1::JobList>(),
      entry<batch::v1::CronJob>(),
      entry<batch::v1::CronJobList>(),
      entry<networking::v1::Ingress>(),
      entry<networking::v1::IngressList>(),
      entry<networking::v1::IngressClass>(),
      entry<networking::v1::IngressClassList>(),
      entry<networking::v1::NetworkPolicy>(),
      entry<networking::v1::NetworkPolicyList>(),
      entry<scheduling::v1::PriorityClass>(),
      entry<scheduling::v1::PriorityClassList>(),
      entry<storage::v1::StorageClass>(),
      entry<storage::v1::StorageClassList>(),
      entry<storage::v1::CSIDriver>(),
      entry<storage::v1::CSIDriverList>(),
      entry<rbac::v1::Role>(),
      entry<rbac::v1::RoleList>(),
      entry<rbac::v1::ClusterRole>(),
      entry<rbac::v1::ClusterRoleList>(),
      entry<rbac::v1::RoleBinding>(),
      entry<rbac::v1::RoleBindingList>(),
      entry<rbac::v1::ClusterRoleBinding>(),
      entry<rbac::v1::ClusterRoleBindingList>(),
      entry<events::v1::Event>(),
      entry<events::v1::EventList>(),
      entry<policy::v1::PodDisruptionBudget>(),
      entry<policy::v1::PodDisruptionBudgetList>(),
      entry<policy::v1::Eviction>(),
      entry<authorization::v1::SelfSubjectAccessReview>(),
      entry<authorization::v1::SubjectAccessReview>(),
      entry<authorization::v1::LocalSubjectAccessReview>(),
      entry<authorization::v1::SelfSubjectRulesReview>(),
      entry<authentication::v1::TokenReview>(),
      entry<authentication::v1::TokenRequest>(),
      entry<authentication::v1::SelfSubjectReview>(),
      entry<autoscaling::v1::Scale>(),
      entry<core::v1::ReplicationController>(),
      entry<core::v1::ReplicationControllerList>(),
      entry<core::v1::ComponentStatus>(),
      entry<core::v1::ComponentStatusList>(),
      entry<core::v1::Binding>(),
      entry<core::v1::ServiceAccount>(),
      entry<core::v1::LimitRange>(),
      entry<core::v1::ResourceQuota>(),
      entry<core::v1::Namespace>(),
      entry<core::v1::Endpoints>(),
      entry<core::v1::Event>(),
      entry<apps::v1::DaemonSet>(),
      entry<apps::v1::StatefulSet>(),
      entry<apps::v1::ControllerRevision>(),
  };
  return table;
}

class KindExamples : public ::testing::TestWithParam<std::string> {};

TEST_P(KindExamples, RoundTripStrictly) {
  const auto docs = yamlToJsonDocuments(readTestdata("kinds/" + GetParam() + ".yaml"));
  ASSERT_FALSE(docs.empty());
  for (const auto& doc : docs) {
    const auto tm = decodeJson<meta::v1::TypeMeta>(doc);
    const std::string key = tm.apiVersion + "/" + tm.kind;
    const auto it = kinds().find(key);
    ASSERT_NE(it, kinds().end()) << "no codec registered in the test for " << key;
    std::string encoded;
    ASSERT_NO_THROW(encoded = it->second(doc)) << key;
    // Nothing of the example is lost: every member of the input survives encoding (the
    // encoder may add always-written empty fields, so compare by decoding the input and
    // the output into the same value, done above, and check a few explicit members here).
    EXPECT_NE(encoded.find(R"("kind":")" + tm.kind + '"'), std::string::npos) << encoded;
  }
}

INSTANTIATE_TEST_SUITE_P(Groups, KindExamples,
                         ::testing::Values("batch_v1", "networking_v1", "storage_v1", "rbac_v1",
                                           "events_v1", "policy_v1", "scheduling_v1",
                                           "authorization_v1", "authentication_v1",
                                           "autoscaling_v1", "core_v1", "apps_v1"));

// Every registered resource of the new groups has an example and a codec.
TEST(KindExamples, EveryResourceKindIsCovered) {
  std::set<std::string> examples;
  for (const char* file :
       {"batch_v1", "networking_v1", "storage_v1", "rbac_v1", "events_v1", "policy_v1",
        "scheduling_v1", "authorization_v1", "authentication_v1", "core_v1", "apps_v1"}) {
    for (const auto& doc :
         yamlToJsonDocuments(readTestdata(std::string("kinds/") + file + ".yaml"))) {
      const auto tm = decodeJson<meta::v1::TypeMeta>(doc);
      examples.insert(tm.apiVersion + "/" + tm.kind);
    }
  }
  for (const auto& r : builtinResources()) {
    if (r.group.empty() || r.group == "apps" || r.group == "coordination.k8s.io" ||
        r.group == "discovery.k8s.io") {
      continue;  // covered by codec_test and examples_test
    }
    std::string key(r.apiVersion);
    key.append("/").append(r.kind);
    EXPECT_TRUE(examples.contains(key)) << key;
    if (!r.listKind.empty()) {
      std::string list(r.apiVersion);
      list.append("/").append(r.listKind);
      EXPECT_TRUE(examples.contains(list)) << list;
    }
  }
}

TEST(KindExamples, FieldsLandWhereUpstreamPutsThem) {
  const auto docs = yamlToJsonDocuments(readTestdata("kinds/batch_v1.yaml"));
  const auto job = decodeJson<batch::v1::Job>(docs.at(0), {.strict = true});
  EXPECT_EQ(job.spec.completionMode, batch::v1::CompletionMode::Indexed);
  ASSERT_TRUE(job.spec.podFailurePolicy.has_value());
  EXPECT_EQ(job.spec.podFailurePolicy->rules.at(0).onExitCodes->values, std::vector<int32_t>{42});
  EXPECT_EQ(job.spec.template_.spec.containers.at(0).image, "perl:5.34");
  EXPECT_EQ(job.status.ready, 2);
  const auto cj = decodeJson<batch::v1::CronJob>(docs.at(2), {.strict = true});
  EXPECT_EQ(cj.spec.jobTemplate.spec.template_.spec.containers.at(0).name, "hello");
  EXPECT_EQ(cj.status.active.at(0).name, "hello-28590000");

  const auto ing = decodeJson<networking::v1::Ingress>(
      yamlToJsonDocuments(readTestdata("kinds/networking_v1.yaml")).at(0), {.strict = true});
  const auto& path = ing.spec.rules.at(0).http->paths.at(0);  // http is in inline IngressRuleValue
  EXPECT_EQ(path.pathType, networking::v1::PathType::Prefix);
  EXPECT_EQ(path.backend.service->port.name, "http");

  const auto pdb = decodeJson<policy::v1::PodDisruptionBudget>(
      yamlToJsonDocuments(readTestdata("kinds/policy_v1.yaml")).at(0), {.strict = true});
  EXPECT_EQ(pdb.spec.minAvailable, IntOrString(2));
  EXPECT_EQ(pdb.status.disruptedPods.at("zk-1").rfc3339(), "2024-05-14T09:00:00Z");

  const auto sar = decodeJson<authorization::v1::SubjectAccessReview>(
      yamlToJsonDocuments(readTestdata("kinds/authorization_v1.yaml")).at(1), {.strict = true});
  EXPECT_EQ(sar.spec.extra.at("scopes"), (std::vector<std::string>{"openid", "profile"}));
}

TEST(KindExamples, AlwaysWrittenFieldsMatchUpstream) {
  // Fields without omitempty upstream are written even when empty.
  authorization::v1::SelfSubjectRulesReview review;
  EXPECT_TRUE(
      sameJson(encodeJson(review),
               R"({"kind":"SelfSubjectRulesReview","apiVersion":"authorization.k8s.io/v1",)"
               R"("metadata":{"creationTimestamp":null},"spec":{},)"
               R"("status":{"resourceRules":[],"nonResourceRules":[],"incomplete":false}})"))
      << encodeJson(review);
  rbac::v1::RoleBinding binding;
  binding.roleRef = {.apiGroup = "rbac.authorization.k8s.io", .kind = "Role", .name = "r"};
  EXPECT_TRUE(
      sameJson(encodeJson(binding),
               R"({"kind":"RoleBinding","apiVersion":"rbac.authorization.k8s.io/v1",)"
               R"("metadata":{"creationTimestamp":null},)"
               R"("roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"Role","name":"r"}})"))
      << encodeJson(binding);
}

// The messages of the FieldErrors thrown by decoding json as T strictly.
template <class T>
std::vector<std::string> strictErrors(std::string_view json) {
  try {
    (void)decodeJson<T>(json, {.strict = true});
  } catch (const FieldErrors& e) {
    std::vector<std::string> out;
    for (const auto& fe : e.errors()) out.push_back(fe.message());
    return out;
  }
  return {};
}

TEST(KindExamples, UnknownFieldsNameTheirPath) {
  EXPECT_EQ(
      strictErrors<batch::v1::CronJob>(
          R"({"apiVersion":"batch/v1","kind":"CronJob","spec":{"schedule":"* * * * *",)"
          R"("jobTemplate":{"spec":{"template":{"spec":{"containers":[{"name":"a","imag":"x"}]}}}}}})"),
      std::vector<std::string>{
          R"(unknown field "spec.jobTemplate.spec.template.spec.containers[0].imag")"});
  EXPECT_EQ(
      strictErrors<networking::v1::Ingress>(
          R"({"apiVersion":"networking.k8s.io/v1","kind":"Ingress","spec":{"rules":[)"
          R"({"host":"a","http":{"paths":[{"pathType":"Prefix","backend":{"serviceName":"x"}}]}}]}})"),
      std::vector<std::string>{
          R"(unknown field "spec.rules[0].http.paths[0].backend.serviceName")"});
  EXPECT_EQ(strictErrors<rbac::v1::ClusterRole>(
                R"({"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRole",)"
                R"("rules":[{"verbs":["get"],"resource":["pods"]}]})"),
            std::vector<std::string>{R"(unknown field "rules[0].resource")"});
  EXPECT_EQ(
      strictErrors<policy::v1::PodDisruptionBudget>(
          R"({"apiVersion":"policy/v1","kind":"PodDisruptionBudget","spec":{"minAvailable":1,)"
          R"("selector":{"matchLabel":{"a":"b"}}}})"),
      std::vector<std::string>{R"(unknown field "spec.selector.matchLabel")"});
  EXPECT_EQ(strictErrors<storage::v1::StorageClass>(
                R"({"apiVersion":"storage.k8s.io/v1","kind":"StorageClass","provisioner":"x",)"
                R"("bindingMode":"Immediate"})"),
            std::vector<std::string>{R"(unknown field "bindingMode")"});
  // A kind sent to the wrong group is rejected, not silently accepted.
  EXPECT_FALSE(
      strictErrors<events::v1::Event>(R"({"apiVersion":"v1","kind":"Event","eventTime":null})")
          .empty());
}

}  // namespace
}  // namespace kite::api
