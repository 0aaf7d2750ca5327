// DefaultTolerationSeconds in the API server's pod admission (what the node lifecycle
// controller's taint eviction relies on): driven through ApiServer::handle.

#include <gtest/gtest.h>

#include <string>

#include "apiserver_test_util.h"

namespace kite::testing {
namespace {

std::string podJson(const std::string& name, const std::string& tolerations) {
  return R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":")" + name +
         R"("},"spec":{"containers":[{"name":"c","image":"busybox"}],"tolerations":)" +
         tolerations + "}}";
}

// tolerationSeconds of the toleration with this key and effect NoExecute; -1 when absent, -2
// when it has none.
long long secondsFor(const rapidjson::Document& pod, const std::string& key, int* count) {
  long long out = -1;
  *count = 0;
  for (const auto& t : pod["spec"]["tolerations"].GetArray()) {
    if (t.HasMember("key") && t["key"].GetString() == key) {
      ++*count;
      out = t.HasMember("tolerationSeconds") ? t["tolerationSeconds"].GetInt64() : -2;
    }
  }
  return out;
}

TEST(ClusterAdmission, DefaultTolerationSecondsAdded) {
  ApiHarness api;
  const auto r = api.call("POST", "/api/v1/namespaces/default/pods", podJson("p", "[]"));
  ASSERT_EQ(r.status, 201) << r.body;
  const auto pod = r.json();
  int n = 0;
  EXPECT_EQ(secondsFor(pod, "node.kubernetes.io/not-ready", &n), 300);
  EXPECT_EQ(n, 1);
  EXPECT_EQ(secondsFor(pod, "node.kubernetes.io/unreachable", &n), 300);
  EXPECT_EQ(n, 1);
  for (const auto& t : pod["spec"]["tolerations"].GetArray()) {
    EXPECT_STREQ(t["operator"].GetString(), "Exists");
    EXPECT_STREQ(t["effect"].GetString(), "NoExecute");
  }
}

TEST(ClusterAdmission, PodsOwnTolerationsKept) {
  ApiHarness api;
  const auto r =
      api.call("POST", "/api/v1/namespaces/default/pods",
               podJson("p", R"([{"key":"node.kubernetes.io/unreachable","operator":"Exists",)"
                            R"("effect":"NoExecute","tolerationSeconds":5}])"));
  ASSERT_EQ(r.status, 201) << r.body;
  const auto pod = r.json();
  int n = 0;
  EXPECT_EQ(secondsFor(pod, "node.kubernetes.io/unreachable", &n), 5);
  EXPECT_EQ(n, 1);
  EXPECT_EQ(secondsFor(pod, "node.kubernetes.io/not-ready", &n), 300);
}

}  // namespace
}  // namespace kite::testing
