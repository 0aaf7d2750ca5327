// Node-pressure eviction: thresholds as --eviction-hard spells them, the pressure message, and
// the order pods are evicted in.

#include "kite/kubelet/eviction.h"

#include <gtest/gtest.h>

#include "kite/api/quantity.h"

namespace kite::kubelet {
namespace {

namespace corev1 = api::core::v1;

corev1::Pod pod(const std::string& name, const std::string& memoryRequest = "",
                int32_t priority = 0) {
  corev1::Pod p;
  p.metadata.name = name;
  p.metadata.uid = name + "-uid";
  corev1::Container c;
  c.name = "c";
  if (!memoryRequest.empty()) {
    c.resources.requests["memory"] = api::Quantity::parse(memoryRequest);
  }
  p.spec.containers.push_back(c);
  if (priority != 0) p.spec.priority = priority;
  return p;
}

std::vector<std::string> names(const std::vector<corev1::Pod>& pods) {
  std::vector<std::string> out;
  for (const auto& p : pods) out.push_back(p.metadata.name);
  return out;
}

TEST(EvictionThresholds, DefaultsAreUpstreams) {
  const auto t = EvictionThresholds::parse("");
  EXPECT_EQ(t.memoryAvailableBytes, 100LL * 1024 * 1024);
  EXPECT_DOUBLE_EQ(t.nodefsAvailableFraction, 0.10);
  EXPECT_FALSE(t.nodefsAvailableBytes);
}

TEST(EvictionThresholds, ParsesQuantitiesAndPercentages) {
  const auto t = EvictionThresholds::parse("memory.available<1Gi, nodefs.available<5%");
  EXPECT_EQ(t.memoryAvailableBytes, 1024LL * 1024 * 1024);
  EXPECT_DOUBLE_EQ(t.nodefsAvailableFraction, 0.05);
  const auto b = EvictionThresholds::parse("nodefs.available<2Gi");
  EXPECT_EQ(b.nodefsAvailableBytes, 2LL * 1024 * 1024 * 1024);
}

TEST(EvictionThresholds, BadEntriesNameThemselves) {
  for (const char* bad : {"memory.available", "imagefs.available<1Gi", "memory.available<lots",
                          "nodefs.available<150%", "memory.available<10%"}) {
    try {
      EvictionThresholds::parse(bad);
      ADD_FAILURE() << bad << " was accepted";
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find("--eviction-hard"), std::string::npos) << e.what();
    }
  }
}

TEST(Pressure, MemoryFirstWithUpstreamsMessage) {
  const EvictionThresholds t;
  EXPECT_FALSE(pressureOf({1LL << 30, 50, 100}, t));
  const auto p = pressureOf({50LL * 1024 * 1024, 5, 100}, t);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->resource, "memory");
  EXPECT_EQ(p->message,
            "The node was low on resource: memory. Threshold quantity: 100Mi, available: 50Mi. ");
  const auto disk = pressureOf({1LL << 30, 5, 100}, t);
  ASSERT_TRUE(disk);
  EXPECT_EQ(disk->resource, "ephemeral-storage");
}

TEST(Ranking, BestEffortThenOverRequestThenPriorityThenUsage) {
  const std::map<std::string, int64_t> usage = {{"guaranteed-uid", 50LL << 20},
                                                {"burstable-under-uid", 10LL << 20},
                                                {"burstable-over-uid", 300LL << 20},
                                                {"besteffort-small-uid", 1LL << 20},
                                                {"besteffort-big-uid", 200LL << 20}};
  const auto ranked = rankForEviction(
      {pod("guaranteed", "100Mi"), pod("burstable-under", "64Mi"), pod("burstable-over", "64Mi"),
       pod("besteffort-small"), pod("besteffort-big")},
      "memory", usage);
  EXPECT_EQ(names(ranked),
            (std::vector<std::string>{"burstable-over", "besteffort-big", "besteffort-small",
                                      // within requests: closest to its request first
                                      "guaranteed", "burstable-under"}));
}

TEST(Ranking, LowerPriorityGoesFirst) {
  const auto ranked = rankForEviction({pod("important", "", 1000), pod("ordinary")}, "memory", {});
  EXPECT_EQ(names(ranked), (std::vector<std::string>{"ordinary", "important"}));
}

}  // namespace
}  // namespace kite::kubelet
