// Proportional scaling of a Deployment in the middle of a rollout (pure arithmetic).

#include <gtest/gtest.h>

#include "deployment_scaling.h"

namespace kite::controlplane::controllers {
namespace {

ReplicaSet set(const std::string& name, int32_t replicas, int32_t maxReplicas, int32_t desired,
               int64_t created) {
  ReplicaSet rs;
  rs.metadata.name = name;
  rs.spec.replicas = replicas;
  rs.metadata.annotations[std::string(kMaxReplicasAnnotation)] = std::to_string(maxReplicas);
  rs.metadata.annotations[std::string(kDesiredReplicasAnnotation)] = std::to_string(desired);
  rs.metadata.creationTimestamp =
      api::Time(std::chrono::system_clock::time_point(std::chrono::seconds(created)));
  return rs;
}

Deployment rolling(int32_t replicas, int32_t surge, int32_t unavailable) {
  Deployment d;
  d.spec.replicas = replicas;
  d.spec.strategy.type = "RollingUpdate";
  auto& ru = d.spec.strategy.rollingUpdate.emplace();
  ru.maxSurge = api::IntOrString(surge);
  ru.maxUnavailable = api::IntOrString(unavailable);
  return d;
}

TEST(ProportionalScaling, SharesAddedReplicasBySize) {
  // 10 replicas (+3 surge) mid-rollout: old 8, new 5. Scaled to 15: 18 in all.
  const auto sizes =
      proportionalSizes(rolling(15, 3, 2), {set("old", 8, 13, 10, 1), set("new", 5, 13, 10, 2)});
  ASSERT_EQ(sizes.size(), 2U);
  EXPECT_EQ(sizes[0], (std::pair<std::string, int32_t>{"old", 11}));
  EXPECT_EQ(sizes[1], (std::pair<std::string, int32_t>{"new", 7}));
}

TEST(ProportionalScaling, SharesRemovedReplicasAndLeftoverGoesToLargest) {
  // Scaled down to 5 (+3 surge = 8): 8*8/13 = 4.9 -> 5, 5*8/13 = 3.1 -> 3.
  auto sizes =
      proportionalSizes(rolling(5, 3, 2), {set("old", 8, 13, 10, 1), set("new", 5, 13, 10, 2)});
  EXPECT_EQ(sizes[0].second + sizes[1].second, 8);
  EXPECT_EQ(sizes[0], (std::pair<std::string, int32_t>{"old", 5}));
  // Equal sizes: on the way up the newer set comes first and takes the leftover.
  sizes = proportionalSizes(rolling(4, 1, 0), {set("a", 2, 5, 4, 1), set("b", 2, 5, 4, 2)});
  EXPECT_EQ(sizes[0].first, "b");
  EXPECT_EQ(sizes[0].second + sizes[1].second, 5);
  // To zero: every set goes to zero.
  sizes = proportionalSizes(rolling(0, 1, 0), {set("a", 3, 5, 4, 1), set("b", 2, 5, 4, 2)});
  EXPECT_EQ(sizes[0].second + sizes[1].second, 0);
}

TEST(ProportionalScaling, ScalingEventIsADesiredReplicasMismatch) {
  const auto d = rolling(10, 1, 0);
  EXPECT_FALSE(isScalingEvent(d, {set("a", 3, 11, 10, 1)}));
  EXPECT_TRUE(isScalingEvent(d, {set("a", 3, 9, 8, 1)}));
  EXPECT_FALSE(isScalingEvent(d, {set("a", 0, 9, 8, 1)}));  // inactive sets do not count
}

}  // namespace
}  // namespace kite::controlplane::controllers
