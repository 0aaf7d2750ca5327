#include "cluster_taints.h"

#include <gtest/gtest.h>

namespace kite::controlplane::controllers {
namespace {

namespace corev1 = api::core::v1;
using std::chrono::seconds;

corev1::Taint taint(const std::string& key, const std::string& effect = "NoExecute") {
  corev1::Taint t;
  t.key = key;
  t.effect = effect;
  return t;
}

corev1::Toleration toleration(const std::string& key, std::optional<std::int64_t> secs,
                              const std::string& op = "Exists") {
  corev1::Toleration t;
  t.key = key;
  t.operator_ = op;
  t.effect = "NoExecute";
  t.tolerationSeconds = secs;
  return t;
}

TEST(ClusterTaints, Tolerates) {
  corev1::Toleration all;
  all.operator_ = "Exists";
  EXPECT_TRUE(clusterTolerates(all, taint("anything")));
  auto eq = toleration("k", std::nullopt, "Equal");
  eq.value = "v";
  auto t = taint("k");
  t.value = "v";
  EXPECT_TRUE(clusterTolerates(eq, t));
  t.value = "w";
  EXPECT_FALSE(clusterTolerates(eq, t));
  EXPECT_FALSE(clusterTolerates(toleration("k", 5), taint("k", "NoSchedule")));
  EXPECT_FALSE(clusterTolerates(toleration("other", 5), taint("k")));
}

TEST(ClusterTaints, TimeToEviction) {
  const auto unreachable = taint("node.kubernetes.io/unreachable");
  EXPECT_EQ(clusterTimeToEviction({}, {unreachable}), seconds(0));
  EXPECT_EQ(
      clusterTimeToEviction({toleration("node.kubernetes.io/unreachable", 300)}, {unreachable}),
      seconds(300));
  EXPECT_EQ(clusterTimeToEviction({toleration("node.kubernetes.io/unreachable", std::nullopt)},
                                  {unreachable}),
            std::nullopt);
  EXPECT_EQ(
      clusterTimeToEviction({toleration("node.kubernetes.io/unreachable", 300), toleration("", 7)},
                            {unreachable}),
      seconds(7));
  // One taint not tolerated: now.
  EXPECT_EQ(clusterTimeToEviction({toleration("node.kubernetes.io/unreachable", 300)},
                                  {unreachable, taint("custom")}),
            seconds(0));
  EXPECT_EQ(
      clusterTimeToEviction({toleration("node.kubernetes.io/unreachable", -4)}, {unreachable}),
      seconds(0));
}

}  // namespace
}  // namespace kite::controlplane::controllers
