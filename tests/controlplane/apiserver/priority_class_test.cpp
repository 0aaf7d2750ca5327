// scheduling.k8s.io PriorityClasses and the Priority admission through the API server: the
// built-in system classes, upstream's validation and Forbidden refusals, and the priority a
// created pod gets from its class or the globalDefault one.

#include <gtest/gtest.h>

#include <string>

#include "apiserver_test_util.h"

namespace kite::testing {
namespace {

constexpr const char* kClasses = "/apis/scheduling.k8s.io/v1/priorityclasses";
constexpr const char* kPods = "/api/v1/namespaces/default/pods";

std::string classJson(const std::string& name, long long value, const std::string& extra = {}) {
  return R"({"apiVersion":"scheduling.k8s.io/v1","kind":"PriorityClass","metadata":{"name":")" +
         name + R"("},"value":)" + std::to_string(value) + extra + "}";
}

std::string podJson(const std::string& name, const std::string& specExtra = {}) {
  return R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":")" + name + R"("},"spec":{)" +
         specExtra + R"("containers":[{"name":"a","image":"x"}]}})";
}

std::string classUrl(const std::string& name) { return std::string(kClasses) + "/" + name; }
std::string podUrl(const std::string& name) { return std::string(kPods) + "/" + name; }

TEST(PriorityClassTest, SystemClassesExistAndCannotBeDeletedOrChanged) {
  ApiHarness api;
  auto r = api.call("GET", classUrl("system-node-critical"));
  ASSERT_EQ(r.status, 200) << r.body;
  const auto d = r.json();
  EXPECT_EQ(d["value"].GetInt(), 2000001000);
  EXPECT_EQ(std::string(d["preemptionPolicy"].GetString()), "PreemptLowerPriority");
  EXPECT_NE(std::string(d["description"].GetString()).find("system critical"), std::string::npos);
  r = api.call("GET", classUrl("system-cluster-critical"));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["value"].GetInt(), 2000000000);

  r = api.call("DELETE", classUrl("system-node-critical"));
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_EQ(r.reason(), "Forbidden");
  EXPECT_EQ(r.message(),
            "priorityclasses.scheduling.k8s.io \"system-node-critical\" is forbidden: this is a "
            "system priority class and cannot be deleted");
  EXPECT_EQ(api.call("DELETE", std::string(kClasses)).status, 200);
  EXPECT_EQ(api.call("GET", classUrl("system-cluster-critical")).status, 200);

  r = api.call("PATCH", classUrl("system-cluster-critical"), R"({"value":5})",
               "application/merge-patch+json");
  EXPECT_EQ(r.status, 422) << r.body;
  EXPECT_NE(r.message().find("value: Forbidden: may not be changed in an update."),
            std::string::npos)
      << r.message();
  r = api.call("PATCH", classUrl("system-cluster-critical"), R"({"globalDefault":true})",
               "application/merge-patch+json");
  EXPECT_EQ(r.status, 422) << r.body;
  EXPECT_NE(
      r.message().find("globalDefault of system-cluster-critical PriorityClass must be false"),
      std::string::npos)
      << r.message();
}

TEST(PriorityClassTest, ValidationAsUpstream) {
  ApiHarness api;
  auto r = api.call("POST", kClasses, classJson("too-high", 1000000001));
  EXPECT_EQ(r.status, 422) << r.body;
  EXPECT_NE(r.message().find(
                "value: Forbidden: maximum allowed value of a user defined priority is 1000000000"),
            std::string::npos)
      << r.message();
  r = api.call("POST", kClasses, classJson("system-mine", 10));
  EXPECT_EQ(r.status, 422) << r.body;
  EXPECT_NE(r.message().find("metadata.name: Forbidden: priority class names with 'system-' "
                             "prefix are reserved for system use only. error: system-mine is not "
                             "a known system priority class"),
            std::string::npos)
      << r.message();
  r = api.call("POST", kClasses, classJson("odd", 1, R"(,"preemptionPolicy":"Sometimes")"));
  EXPECT_EQ(r.status, 422) << r.body;
  EXPECT_NE(r.message().find("preemptionPolicy: Unsupported value: \"Sometimes\""),
            std::string::npos)
      << r.message();

  r = api.call("POST", kClasses, classJson("high", 1000000000));
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(std::string(r.json()["preemptionPolicy"].GetString()), "PreemptLowerPriority");
  r = api.call("PATCH", classUrl("high"), R"({"value":7})", "application/merge-patch+json");
  EXPECT_EQ(r.status, 422) << r.body;
  EXPECT_NE(r.message().find("value: Forbidden: may not be changed in an update."),
            std::string::npos);
  r = api.call("PATCH", classUrl("high"), R"({"preemptionPolicy":"Never"})",
               "application/merge-patch+json");
  EXPECT_EQ(r.status, 422) << r.body;
  EXPECT_NE(r.message().find("preemptionPolicy: Invalid value: \"Never\": field is immutable"),
            std::string::npos)
      << r.message();
  r = api.call("PATCH", classUrl("high"), R"({"description":"important"})",
               "application/merge-patch+json");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(api.call("DELETE", classUrl("high")).status, 200);
}

TEST(PriorityClassTest, OnlyOneGlobalDefault) {
  ApiHarness api;
  ASSERT_EQ(api.call("POST", kClasses, classJson("first", 10, R"(,"globalDefault":true)")).status,
            201);
  auto r = api.call("POST", kClasses, classJson("second", 20, R"(,"globalDefault":true)"));
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_EQ(r.reason(), "Forbidden");
  EXPECT_EQ(r.message(),
            "priorityclasses.scheduling.k8s.io \"second\" is forbidden: PriorityClass first is "
            "already marked as default. Only one default can exist");
  // Nor may an existing class become a second default; the default may be updated.
  ASSERT_EQ(api.call("POST", kClasses, classJson("second", 20)).status, 201);
  r = api.call("PATCH", classUrl("second"), R"({"globalDefault":true})",
               "application/merge-patch+json");
  EXPECT_EQ(r.status, 403) << r.body;
  r = api.call("PATCH", classUrl("first"), R"({"description":"d"})",
               "application/merge-patch+json");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(api.call("DELETE", classUrl("first")).status, 200);
  EXPECT_EQ(api.call("DELETE", classUrl("second")).status, 200);
}

TEST(PriorityAdmissionTest, PodGetsPriorityOfItsClass) {
  ApiHarness api;
  auto r = api.call("POST", kPods,
                    podJson("critical", R"("priorityClassName":"system-node-critical",)"));
  ASSERT_EQ(r.status, 201) << r.body;
  const auto d = r.json();
  EXPECT_EQ(d["spec"]["priority"].GetInt(), 2000001000);
  EXPECT_EQ(std::string(d["spec"]["preemptionPolicy"].GetString()), "PreemptLowerPriority");

  ASSERT_EQ(
      api.call("POST", kClasses, classJson("polite", 100, R"(,"preemptionPolicy":"Never")")).status,
      201);
  r = api.call("POST", kPods, podJson("polite", R"("priorityClassName":"polite",)"));
  ASSERT_EQ(r.status, 201) << r.body;
  const auto polite = r.json();
  EXPECT_EQ(polite["spec"]["priority"].GetInt(), 100);
  EXPECT_EQ(std::string(polite["spec"]["preemptionPolicy"].GetString()), "Never");

  // Without a class and without a default class: priority 0, no class name.
  r = api.call("POST", kPods, podJson("plain"));
  ASSERT_EQ(r.status, 201) << r.body;
  const auto plain = r.json();
  EXPECT_EQ(plain["spec"]["priority"].GetInt(), 0);
  EXPECT_FALSE(plain["spec"].HasMember("priorityClassName"));

  // An update that leaves the priority out keeps it; one that changes it is refused.
  r = api.call("PATCH", podUrl("polite"), R"({"spec":{"priority":null,"preemptionPolicy":null}})",
               "application/merge-patch+json");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(std::string(r.json()["spec"]["preemptionPolicy"].GetString()), "Never");
  EXPECT_EQ(r.json()["spec"]["priority"].GetInt(), 100);
  r = api.call("PATCH", podUrl("polite"), R"({"spec":{"priority":5}})",
               "application/merge-patch+json");
  EXPECT_EQ(r.status, 422) << r.body;

  for (const char* name : {"critical", "polite", "plain"}) {
    EXPECT_EQ(api.call("DELETE", podUrl(name)).status, 200);
  }
  EXPECT_EQ(api.call("DELETE", classUrl("polite")).status, 200);
}

TEST(PriorityAdmissionTest, UnknownClassAndForeignPriorityAreForbidden) {
  ApiHarness api;
  auto r = api.call("POST", kPods, podJson("lost", R"("priorityClassName":"nope",)"));
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_EQ(r.reason(), "Forbidden");
  EXPECT_EQ(r.message(), "pods \"lost\" is forbidden: no PriorityClass with name nope was found");

  r = api.call("POST", kPods,
               podJson("pushy", R"("priorityClassName":"system-cluster-critical","priority":7,)"));
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_EQ(r.message(),
            "pods \"pushy\" is forbidden: the integer value of priority (7) must not be provided "
            "in pod spec; priority admission controller computed 2000000000 from the given "
            "PriorityClass name");
  // The value the class gives is accepted.
  r = api.call("POST", kPods, podJson("exact", R"("priority":0,)"));
  EXPECT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(api.call("DELETE", podUrl("exact")).status, 200);
}

TEST(PriorityAdmissionTest, GlobalDefaultAppliesToPodsWithoutAClass) {
  ApiHarness api;
  ASSERT_EQ(
      api.call("POST", kClasses, classJson("everyday", 50, R"(,"globalDefault":true)")).status,
      201);
  auto r = api.call("POST", kPods, podJson("plain"));
  ASSERT_EQ(r.status, 201) << r.body;
  const auto d = r.json();
  EXPECT_EQ(d["spec"]["priority"].GetInt(), 50);
  EXPECT_EQ(std::string(d["spec"]["priorityClassName"].GetString()), "everyday");
  EXPECT_EQ(api.call("DELETE", podUrl("plain")).status, 200);
  EXPECT_EQ(api.call("DELETE", classUrl("everyday")).status, 200);
}

TEST(PriorityClassTest, ServedInDiscoveryAndTables) {
  ApiHarness api;
  auto r = api.call("GET", "/apis/scheduling.k8s.io/v1");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find(R"("name":"priorityclasses")"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find(R"("shortNames":["pc"])"), std::string::npos) << r.body;
  r = api.call("GET", kClasses, {}, "application/json",
               "application/json;as=Table;v=v1;g=meta.k8s.io");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find(R"("name":"Global-Default")"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find(R"(["system-cluster-critical",2000000000,false,)"), std::string::npos)
      << r.body;
}

}  // namespace
}  // namespace kite::testing
