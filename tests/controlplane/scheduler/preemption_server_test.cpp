// Preemption against a real `kite server` (its scheduler and controllers off, no agents: the
// test plays the kubelet and removes pods the scheduler deleted). A node full of low-priority
// pods makes room for a high-priority pod: the victim gets DisruptionTarget, a Preempted
// event and is deleted, the pod is nominated and bound once the victim is gone, and a
// low-priority newcomer does not take the room. preemptionPolicy Never and equal priority
// preempt nothing.
//
// Priorities come from PriorityClasses: the API server's Priority admission sets spec.priority
// and spec.preemptionPolicy from spec.priorityClassName, as upstream.
#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "kite/api/meta.h"
#include "kite/api/scheduling/v1/types.h"
#include "objects.h"
#include "scheduler_server_fixture.h"

namespace kite::controlplane {
namespace {

namespace corev1 = api::core::v1;
using schedtest::eventually;
using scheduler::testing::makeNode;
using scheduler::testing::makePod;
using namespace std::chrono_literals;

struct Priority {
  const char* className;
  std::int32_t value = 0;
  bool never = false;
};

constexpr Priority kLow{"preemption-test-low", 100};
constexpr Priority kMid{"preemption-test-mid", 500};
constexpr Priority kHigh{"preemption-test-high", 1000};
constexpr Priority kHighNever{"preemption-test-high-never", 1000, true};

class PreemptionServerTest : public schedtest::SchedulerServerTest {
 protected:
  void SetUp() override {
    SchedulerServerTest::SetUp();
    for (const auto& p : {kLow, kMid, kHigh, kHighNever}) createPriorityClass(p);
  }

  void createPriorityClass(const Priority& p) {
    api::scheduling::v1::PriorityClass pc;
    pc.metadata.name = p.className;
    pc.value = p.value;
    if (p.never) pc.preemptionPolicy = "Never";
    client_->create(pc);
  }

  static corev1::Pod withPriority(corev1::Pod pod, const Priority& p) {
    pod.spec.priorityClassName = p.className;
    return pod;
  }

  corev1::Pod get(const std::string& name) { return client_->get<corev1::Pod>("default", name); }

  // Node "full" (3 cpu) runs three 1-cpu pods of low priority: "low-1", "low-2", "low-3".
  std::vector<std::string> fillANode() {
    createNode(makeNode("full", "3", "8Gi"));
    startScheduler();
    std::vector<std::string> lows = {"low-1", "low-2", "low-3"};
    for (const auto& name : lows) {
      createPod(withPriority(makePod(name, "1", ""), kLow));
      EXPECT_EQ(waitForNode(name), "full");
    }
    return lows;
  }

  // The kubelet's part: a pod being deleted is gone at once.
  void finishDeletion(const std::string& name) {
    client_->remove<corev1::Pod>("default", name, {.gracePeriodSeconds = 0});
  }

  // The newest FailedScheduling message of the pod.
  std::string lastFailedScheduling(const std::string& pod) {
    std::string message;
    api::Time newest;
    for (const auto& e : eventsOf(pod, "FailedScheduling")) {
      if (message.empty() || e.lastTimestamp >= newest) {
        newest = e.lastTimestamp;
        message = e.message;
      }
    }
    return message;
  }
};

TEST_F(PreemptionServerTest, HighPriorityPodPreemptsAndIsBoundOnceItsVictimsAreGone) {
  const auto lows = fillANode();

  const auto urgent = createPod(withPriority(makePod("urgent", "2", ""), kHigh));
  ASSERT_EQ(urgent.spec.priority, 1000);  // from its class
  ASSERT_TRUE(eventually([&] { return get("urgent").status.nominatedNodeName == "full"; }));
  // Two victims make the room; the third low-priority pod stays.
  std::vector<std::string> victims;
  std::string spared;
  ASSERT_TRUE(eventually([&] {
    victims.clear();
    for (const auto& name : lows) {
      if (api::isBeingDeleted(get(name).metadata)) {
        victims.push_back(name);
      } else {
        spared = name;
      }
    }
    return victims.size() == 2;
  }));
  for (const auto& victim : victims) {
    const auto pod = get(victim);
    const auto* target = api::findCondition(pod.status.conditions, "DisruptionTarget");
    ASSERT_NE(target, nullptr) << victim;
    EXPECT_EQ(target->status, "True");
    EXPECT_EQ(target->reason, "PreemptionByScheduler");
    EXPECT_EQ(target->message,
              "default-scheduler: preempting to accommodate a higher priority pod");
    std::vector<corev1::Event> preempted;
    ASSERT_TRUE(eventually([&] { return !(preempted = eventsOf(victim, "Preempted")).empty(); }));
    EXPECT_EQ(preempted[0].type, "Normal");
    EXPECT_EQ(preempted[0].message, "Preempted by pod " + urgent.metadata.uid + " on node full");
    EXPECT_EQ(preempted[0].action, "Preempting");
    ASSERT_TRUE(preempted[0].related.has_value());
    EXPECT_EQ(preempted[0].related->name, "urgent");
  }
  // Preemption found its node: the FailedScheduling text has no preemption part.
  std::vector<corev1::Event> failed;
  ASSERT_TRUE(
      eventually([&] { return !(failed = eventsOf("urgent", "FailedScheduling")).empty(); }));
  EXPECT_EQ(failed[0].message, "0/1 nodes are available: 1 Insufficient cpu.");

  // One victim gone: 1 cpu is free, not enough for "urgent". It does not preempt the third
  // pod while the other victim terminates, and a low-priority newcomer that would fit in the
  // free cpu must leave it to "urgent".
  finishDeletion(victims[0]);
  ASSERT_TRUE(eventually([&] {
    return lastFailedScheduling("urgent") ==
           "0/1 nodes are available: 1 Insufficient cpu. preemption: not eligible due to a "
           "terminating pod on the nominated node.";
  })) << lastFailedScheduling("urgent");
  createPod(withPriority(makePod("latecomer", "1", ""), kLow));
  ASSERT_TRUE(eventually([&] {
    return lastFailedScheduling("latecomer") ==
           "0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 "
           "No preemption victims found for incoming pod.";
  })) << lastFailedScheduling("latecomer");
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(nodeOf("latecomer"), "");
  EXPECT_EQ(nodeOf("urgent"), "");
  EXPECT_FALSE(api::isBeingDeleted(get(spared).metadata));
  EXPECT_EQ(eventsOf(victims[1], "Preempted").size(), 1U);

  finishDeletion(victims[1]);
  EXPECT_EQ(waitForNode("urgent"), "full");
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(nodeOf("latecomer"), "");
  EXPECT_FALSE(api::isBeingDeleted(get(spared).metadata));
}

TEST_F(PreemptionServerTest, AHigherPriorityPreemptorTakesTheNodeOfALowerNominatedOne) {
  const auto lows = fillANode();
  createPod(withPriority(makePod("mid", "2", ""), kMid));
  ASSERT_TRUE(eventually([&] { return get("mid").status.nominatedNodeName == "full"; }));
  // "top" preempts on the same node: "mid", of lower priority and nominated there, loses its
  // nomination (upstream's getLowerPriorityNominatedPods).
  createPod(withPriority(makePod("top", "2", ""), kHigh));
  ASSERT_TRUE(eventually([&] { return get("top").status.nominatedNodeName == "full"; }));
  ASSERT_TRUE(eventually([&] { return get("mid").status.nominatedNodeName.empty(); }));

  for (const auto& name : lows) {
    if (api::isBeingDeleted(get(name).metadata)) finishDeletion(name);
  }
  EXPECT_EQ(waitForNode("top"), "full");
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(nodeOf("mid"), "");
}

TEST_F(PreemptionServerTest, NeverPolicyAndEqualPriorityPreemptNothing) {
  createNode(makeNode("busy", "1", "8Gi"));
  startScheduler();
  createPod(withPriority(makePod("resident", "1", ""), kLow));
  ASSERT_EQ(waitForNode("resident"), "busy");

  const auto polite = createPod(withPriority(makePod("polite", "1", ""), kHighNever));
  ASSERT_EQ(polite.spec.preemptionPolicy, "Never");  // from its class
  createPod(withPriority(makePod("peer", "1", ""), kLow));
  ASSERT_TRUE(eventually([&] {
    return lastFailedScheduling("polite") ==
           "0/1 nodes are available: 1 Insufficient cpu. preemption: not eligible due to "
           "preemptionPolicy=Never.";
  })) << lastFailedScheduling("polite");
  ASSERT_TRUE(eventually([&] {
    return lastFailedScheduling("peer") ==
           "0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 "
           "No preemption victims found for incoming pod.";
  })) << lastFailedScheduling("peer");
  std::this_thread::sleep_for(300ms);
  const auto resident = get("resident");
  EXPECT_FALSE(api::isBeingDeleted(resident.metadata));
  EXPECT_EQ(api::findCondition(resident.status.conditions, "DisruptionTarget"), nullptr);
  EXPECT_TRUE(eventsOf("resident", "Preempted").empty());
  EXPECT_EQ(get("polite").status.nominatedNodeName, "");
  EXPECT_EQ(get("peer").status.nominatedNodeName, "");
}

}  // namespace
}  // namespace kite::controlplane
