// A pod's negative terminationGracePeriodSeconds through the API server: accepted as upstream
// accepts it, and treated as a one-second grace period when the pod is deleted.

#include <gtest/gtest.h>

#include <string>

#include "apiserver_test_util.h"

namespace kite::testing {
namespace {

constexpr const char* kPods = "/api/v1/namespaces/default/pods";

TEST(PodGracePeriodTest, NegativeIsAcceptedAndDeletesWithOneSecond) {
  ApiHarness api;
  // Bound to a node, so the delete is graceful rather than immediate.
  auto r = api.call("POST", kPods,
                    R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"neg"},)"
                    R"("spec":{"nodeName":"n1","terminationGracePeriodSeconds":-5,)"
                    R"("containers":[{"name":"a","image":"x"}]}})");
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(r.json()["spec"]["terminationGracePeriodSeconds"].GetInt64(), -5);

  r = api.call("DELETE", std::string(kPods) + "/neg");
  ASSERT_EQ(r.status, 200) << r.body;
  const auto d = r.json();
  ASSERT_TRUE(d["metadata"].HasMember("deletionGracePeriodSeconds")) << r.body;
  EXPECT_EQ(d["metadata"]["deletionGracePeriodSeconds"].GetInt64(), 1);
  // Still there until the kubelet (or the grace period) finishes it.
  EXPECT_EQ(api.call("GET", std::string(kPods) + "/neg").status, 200);
}

}  // namespace
}  // namespace kite::testing
