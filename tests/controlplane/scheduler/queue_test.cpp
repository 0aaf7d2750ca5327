// The scheduling queue and the cache's assumed pods.
#include <gtest/gtest.h>

#include <thread>

#include "kite/controlplane/scheduler/cache.h"
#include "kite/controlplane/scheduler/scheduling_queue.h"
#include "objects.h"

namespace kite::controlplane::scheduler {
namespace {

using namespace testing;  // NOLINT
using namespace std::chrono_literals;

std::shared_ptr<const corev1::Pod> shared(corev1::Pod p) {
  return std::make_shared<const corev1::Pod>(std::move(p));
}

TEST(SchedulingQueue, HigherPriorityFirstThenFifo) {
  SchedulingQueue q;
  q.add(shared(makePod("a")));
  auto important = makePod("b");
  important.spec.priority = 1000;
  q.add(shared(important));
  q.add(shared(makePod("c")));
  EXPECT_EQ(q.pop(1s)->key, "default/b");
  EXPECT_EQ(q.pop(1s)->key, "default/a");
  EXPECT_EQ(q.pop(1s)->key, "default/c");
  EXPECT_FALSE(q.pop(10ms).has_value());
}

TEST(SchedulingQueue, UnschedulableWaitsForAClusterChangeThenBacksOff) {
  SchedulingQueue q(50ms, 200ms);
  q.add(shared(makePod("a")));
  auto popped = q.pop(1s);
  ASSERT_TRUE(popped);
  q.addUnschedulable(*popped);
  EXPECT_EQ(q.unschedulableCount(), 1U);
  EXPECT_FALSE(q.pop(100ms).has_value());  // nothing changed: it stays
  q.moveAllToActiveOrBackoff();
  EXPECT_EQ(q.unschedulableCount(), 0U);
  EXPECT_TRUE(q.pop(1s).has_value());
}

TEST(SchedulingQueue, AChangeDuringTheAttemptSendsItToBackoff) {
  SchedulingQueue q(30ms, 100ms);
  q.add(shared(makePod("a")));
  auto popped = q.pop(1s);
  q.moveAllToActiveOrBackoff();  // a node was added while the pod was being scheduled
  q.addUnschedulable(*popped);
  EXPECT_EQ(q.unschedulableCount(), 0U);
  EXPECT_EQ(q.backoffCount(), 1U);
  const auto start = std::chrono::steady_clock::now();
  auto again = q.pop(1s);
  ASSERT_TRUE(again);
  EXPECT_GE(std::chrono::steady_clock::now() - start, 20ms);
  EXPECT_EQ(again->attempts, 2);
}

TEST(SchedulingQueue, BackoffDoublesUpToTheMaximum) {
  SchedulingQueue q(20ms, 40ms);
  q.add(shared(makePod("a")));
  for (int i = 0; i < 4; ++i) {
    auto popped = q.pop(1s);
    ASSERT_TRUE(popped);
    q.addBackoff(*popped);
  }
  const auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(q.pop(1s));
  const auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_GE(waited, 30ms);
  EXPECT_LT(waited, 5s);
}

TEST(SchedulingQueue, DeletedPodsAreDroppedAndUpdatesRetryUnschedulablePods) {
  SchedulingQueue q(1ms, 1ms);
  q.add(shared(makePod("a")));
  q.remove("default/a");
  EXPECT_FALSE(q.pop(10ms).has_value());
  q.add(shared(makePod("b")));
  auto popped = q.pop(1s);
  q.addUnschedulable(*popped);
  auto changed = makePod("b");
  changed.spec.nodeSelector["disk"] = "ssd";
  q.update(shared(changed));
  auto again = q.pop(1s);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->pod->spec.nodeSelector.at("disk"), "ssd");
  q.done(again->key);
  EXPECT_FALSE(q.contains("default/b"));
}

TEST(SchedulerCache, AssumedPodsCountUntilForgotten) {
  SchedulerCache cache;
  cache.addOrUpdateNode(std::make_shared<const corev1::Node>(makeNode("n1", "1", "1Gi")));
  auto pod = makePod("a", "600m", "");
  pod.spec.nodeName = "n1";
  cache.assume(info(pod));
  EXPECT_TRUE(cache.isAssumed("default/a"));
  cache.withNodes([](const std::vector<const NodeInfo*>& nodes) {
    EXPECT_EQ(nodes.size(), 1U);
    EXPECT_EQ(nodes[0]->requested().milliCpu, 600);
    return 0;
  });
  cache.forget("default/a");
  cache.withNodes([](const std::vector<const NodeInfo*>& nodes) {
    EXPECT_EQ(nodes[0]->requested().milliCpu, 0);
    return 0;
  });
  // Confirmed by the informer: no longer assumed, still counted; forget does nothing then.
  cache.assume(info(pod));
  cache.addOrUpdatePod(shared(pod));
  EXPECT_FALSE(cache.isAssumed("default/a"));
  cache.forget("default/a");
  EXPECT_EQ(cache.podCount(), 1U);
  cache.removePod("default/a");
  EXPECT_EQ(cache.podCount(), 0U);
}

TEST(SchedulerCache, PodsOfARemovedNodeStayUntilDeleted) {
  SchedulerCache cache;
  cache.addOrUpdateNode(std::make_shared<const corev1::Node>(makeNode("n1", "1", "1Gi")));
  auto pod = makePod("a", "600m", "");
  pod.spec.nodeName = "n1";
  cache.addOrUpdatePod(shared(pod));
  cache.removeNode("n1");
  EXPECT_EQ(cache.nodeCount(), 0U);
  cache.addOrUpdateNode(std::make_shared<const corev1::Node>(makeNode("n1", "1", "1Gi")));
  cache.withNodes([](const std::vector<const NodeInfo*>& nodes) {
    EXPECT_EQ(nodes[0]->requested().milliCpu, 600);
    return 0;
  });
}

}  // namespace
}  // namespace kite::controlplane::scheduler
