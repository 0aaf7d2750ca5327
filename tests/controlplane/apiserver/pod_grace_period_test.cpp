// A pod's negative terminationGracePeriodSeconds through the API server: accepted as upstream
// accepts it, with a warning, treated as a one-second grace period when the pod is deleted,
// and changeable by an update only to 1.

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "apiserver_test_util.h"

namespace kite::testing {
namespace {

constexpr const char* kPods = "/api/v1/namespaces/default/pods";
constexpr const char* kNegativeWarning =
    R"(299 - "spec.terminationGracePeriodSeconds: must be >= 0; negative values are invalid and )"
    R"(will be treated as 1")";

std::string podJson(const std::string& name, int grace) {
  return R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":")" + name +
         R"("},"spec":{"terminationGracePeriodSeconds":)" + std::to_string(grace) +
         R"(,"containers":[{"name":"a","image":"x"}]}})";
}

// A merge patch of the pod's terminationGracePeriodSeconds.
Reply patchGrace(ApiHarness& api, const std::string& name, int grace) {
  return api.call("PATCH", std::string(kPods) + "/" + name,
                  R"({"spec":{"terminationGracePeriodSeconds":)" + std::to_string(grace) + "}}",
                  "application/merge-patch+json");
}

TEST(PodGracePeriodTest, NegativeIsAcceptedAndDeletesWithOneSecond) {
  ApiHarness api;
  // Bound to a node, so the delete is graceful rather than immediate.
  auto r = api.call("POST", kPods,
                    R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"neg"},)"
                    R"("spec":{"nodeName":"n1","terminationGracePeriodSeconds":-5,)"
                    R"("containers":[{"name":"a","image":"x"}]}})");
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(r.json()["spec"]["terminationGracePeriodSeconds"].GetInt64(), -5);
  EXPECT_EQ(r.header("warning"), kNegativeWarning);

  r = api.call("DELETE", std::string(kPods) + "/neg");
  ASSERT_EQ(r.status, 200) << r.body;
  const auto d = r.json();
  ASSERT_TRUE(d["metadata"].HasMember("deletionGracePeriodSeconds")) << r.body;
  EXPECT_EQ(d["metadata"]["deletionGracePeriodSeconds"].GetInt64(), 1);
  // Still there until the kubelet (or the grace period) finishes it.
  EXPECT_EQ(api.call("GET", std::string(kPods) + "/neg").status, 200);
}

TEST(PodGracePeriodTest, WarnsOnCreateOnly) {
  ApiHarness api;
  auto r = api.call("POST", kPods, podJson("ok", 0));
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(r.header("warning"), "");
  // A dry run answers as the create would.
  r = api.call("POST", std::string(kPods) + "?dryRun=All", podJson("neg", -1));
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(r.header("warning"), kNegativeWarning);
  r = api.call("POST", kPods, podJson("neg", -1));
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(r.header("warning"), kNegativeWarning);
  // As upstream, pod updates carry no warnings (the value stays negative here).
  r = api.call("PATCH", std::string(kPods) + "/neg", R"({"metadata":{"labels":{"a":"b"}}})",
               "application/merge-patch+json");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("warning"), "");
  EXPECT_EQ(api.call("DELETE", std::string(kPods) + "/ok").status, 200);
  EXPECT_EQ(api.call("DELETE", std::string(kPods) + "/neg").status, 200);
}

TEST(PodGracePeriodTest, UpdateMayOnlySetANegativeValueTo1) {
  ApiHarness api;
  ASSERT_EQ(api.call("POST", kPods, podJson("neg", -5)).status, 201);
  ASSERT_EQ(api.call("POST", kPods, podJson("pos", 30)).status, 201);

  // Any other change of the period is one of the forbidden pod spec changes.
  for (const auto& [name, grace] : {std::pair<std::string, int>{"neg", 10},
                                    {"neg", -1},
                                    {"neg", 0},
                                    {"pos", 60},
                                    {"pos", 1},
                                    {"pos", -1}}) {
    const auto r = patchGrace(api, name, grace);
    EXPECT_EQ(r.status, 422) << name << " -> " << grace << ": " << r.body;
    EXPECT_EQ(r.reason(), "Invalid");
    EXPECT_NE(r.message().find("spec: Forbidden: pod updates may not change fields other than"),
              std::string::npos)
        << r.message();
  }
  EXPECT_EQ(api.call("GET", std::string(kPods) + "/neg")
                .json()["spec"]["terminationGracePeriodSeconds"]
                .GetInt64(),
            -5);

  // The allowed one: negative to 1.
  auto r = patchGrace(api, "neg", 1);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["spec"]["terminationGracePeriodSeconds"].GetInt64(), 1);
  // Once 1, it is fixed like any positive value.
  EXPECT_EQ(patchGrace(api, "neg", 2).status, 422);
  // Sending the stored value is no change.
  EXPECT_EQ(patchGrace(api, "pos", 30).status, 200);

  EXPECT_EQ(api.call("DELETE", std::string(kPods) + "/neg?gracePeriodSeconds=0").status, 200);
  EXPECT_EQ(api.call("DELETE", std::string(kPods) + "/pos?gracePeriodSeconds=0").status, 200);
}

// The pod template of the workload kinds: warned about at the template's path on create, and on
// an update when upstream's would move the generation (a DaemonSet: its template generation).
std::string templateJson(int grace, const std::string& restartPolicy = "Always") {
  return R"({"metadata":{"labels":{"app":"w"}},"spec":{"restartPolicy":")" + restartPolicy +
         R"(","terminationGracePeriodSeconds":)" + std::to_string(grace) +
         R"(,"containers":[{"name":"a","image":"x"}]}})";
}

std::string warningAt(const std::string& specPath) {
  return "299 - \"" + specPath +
         ".terminationGracePeriodSeconds: must be >= 0; negative values are invalid and will be "
         "treated as 1\"";
}

TEST(PodGracePeriodTest, WorkloadTemplatesWarnAtTheirPath) {
  ApiHarness api;
  const std::string selector = R"("selector":{"matchLabels":{"app":"w"}},)";
  struct Case {
    std::string collection;
    std::string body;
    std::string specPath;
  };
  const std::vector<Case> cases = {
      {"/apis/apps/v1/namespaces/default/deployments",
       R"({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"w"},"spec":{)" +
           selector + R"("template":)" + templateJson(-1) + "}}",
       "spec.template.spec"},
      {"/apis/apps/v1/namespaces/default/replicasets",
       R"({"apiVersion":"apps/v1","kind":"ReplicaSet","metadata":{"name":"w"},"spec":{)" +
           selector + R"("template":)" + templateJson(-1) + "}}",
       "spec.template.spec"},
      {"/apis/apps/v1/namespaces/default/statefulsets",
       R"({"apiVersion":"apps/v1","kind":"StatefulSet","metadata":{"name":"w"},"spec":{)" +
           selector + R"("serviceName":"w","template":)" + templateJson(-1) + "}}",
       "spec.template.spec"},
      {"/apis/apps/v1/namespaces/default/daemonsets",
       R"({"apiVersion":"apps/v1","kind":"DaemonSet","metadata":{"name":"w"},"spec":{)" + selector +
           R"("template":)" + templateJson(-1) + "}}",
       "spec.template.spec"},
      {"/apis/batch/v1/namespaces/default/jobs",
       R"({"apiVersion":"batch/v1","kind":"Job","metadata":{"name":"w"},"spec":{"template":)" +
           templateJson(-1, "Never") + "}}",
       "spec.template.spec"},
      {"/apis/batch/v1/namespaces/default/cronjobs",
       R"({"apiVersion":"batch/v1","kind":"CronJob","metadata":{"name":"w"},)"
       R"("spec":{"schedule":"*/5 * * * *","jobTemplate":{"spec":{"template":)" +
           templateJson(-1, "Never") + "}}}}",
       "spec.jobTemplate.spec.template.spec"},
      {"/api/v1/namespaces/default/podtemplates",
       R"({"apiVersion":"v1","kind":"PodTemplate","metadata":{"name":"w"},"template":)" +
           templateJson(-1) + "}",
       "template.spec"},
  };
  for (const auto& c : cases) {
    const auto r = api.call("POST", c.collection, c.body);
    ASSERT_EQ(r.status, 201) << c.collection << ": " << r.body;
    EXPECT_EQ(r.header("warning"), warningAt(c.specPath)) << c.collection;
    // Metadata only: no generation change upstream, no warning.
    const auto u = api.call("PATCH", c.collection + "/w", R"({"metadata":{"labels":{"x":"y"}}})",
                            "application/merge-patch+json");
    ASSERT_EQ(u.status, 200) << c.collection << ": " << u.body;
    EXPECT_EQ(u.header("warning"), "") << c.collection;
    EXPECT_EQ(api.call("DELETE", c.collection + "/w").status, 200) << c.collection;
  }
  // A non-negative period warns about nothing.
  auto r = api.call("POST", cases[0].collection,
                    R"({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"w"},)"
                    R"("spec":{)" +
                        selector + R"("template":)" + templateJson(0) + "}}");
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(r.header("warning"), "");
  EXPECT_EQ(api.call("DELETE", cases[0].collection + "/w").status, 200);
}

TEST(PodGracePeriodTest, WorkloadUpdatesWarnWhenTheGenerationMoves) {
  ApiHarness api;
  const std::string deployments = "/apis/apps/v1/namespaces/default/deployments";
  const std::string daemonSets = "/apis/apps/v1/namespaces/default/daemonsets";
  const std::string selector = R"("selector":{"matchLabels":{"app":"w"}},)";
  const auto create = [&](const std::string& collection, const std::string& kind) {
    return api.call("POST", collection,
                    R"({"apiVersion":"apps/v1","kind":")" + kind + R"(","metadata":{"name":"w"},)" +
                        R"("spec":{)" + selector + R"("template":)" + templateJson(-1) + "}}");
  };
  ASSERT_EQ(create(deployments, "Deployment").status, 201);
  ASSERT_EQ(create(daemonSets, "DaemonSet").status, 201);
  auto merge = [&](const std::string& collection, const std::string& body) {
    return api.call("PATCH", collection + "/w", body, "application/merge-patch+json");
  };
  // A Deployment's spec change outside the template moves its generation: warned.
  auto r = merge(deployments, R"({"spec":{"replicas":3}})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("warning"), warningAt("spec.template.spec"));
  // A DaemonSet's does not move its template generation: not warned; a template change is.
  r = merge(daemonSets, R"({"spec":{"minReadySeconds":4}})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("warning"), "");
  r = merge(daemonSets, R"({"spec":{"template":{"metadata":{"labels":{"tier":"t"}}}}})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("warning"), warningAt("spec.template.spec"));
  // Fixed to a valid period: no warning any more.
  r = merge(deployments, R"({"spec":{"template":{"spec":{"terminationGracePeriodSeconds":5}}}})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("warning"), "");
  EXPECT_EQ(api.call("DELETE", deployments + "/w").status, 200);
  EXPECT_EQ(api.call("DELETE", daemonSets + "/w").status, 200);
}

}  // namespace
}  // namespace kite::testing
