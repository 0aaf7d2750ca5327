// The pod garbage collector's decisions: which pods it finishes and why, how it marks them,
// which terminated pods go over the threshold, and the quarantine of missing nodes.

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "kite/api/meta.h"
#include "node_quarantine.h"
#include "pod_gc.h"

namespace kite::controlplane::controllers {
namespace {

using namespace std::chrono_literals;
using api::core::v1::Node;
using api::core::v1::Pod;

Node outOfServiceNode() {
  Node n;
  n.metadata.name = "node-a";
  api::core::v1::Taint t;
  t.key = std::string(kOutOfServiceTaint);
  t.value = "nodeshutdown";
  t.effect = "NoExecute";
  n.spec.taints.push_back(t);
  return n;  // no Ready condition: NotReady
}

void setReady(Node& n, const std::string& status) {
  api::core::v1::NodeCondition c;
  c.type = "Ready";
  c.status = status;
  n.status.conditions = {c};
}

TEST(PodGc, NodeIsOutOfServiceOnlyWhenNotReadyAndTainted) {
  auto n = outOfServiceNode();
  EXPECT_TRUE(isNodeOutOfService(n));
  setReady(n, "Unknown");
  EXPECT_TRUE(isNodeOutOfService(n));
  setReady(n, "True");
  EXPECT_TRUE(isNodeReady(n));
  EXPECT_FALSE(isNodeOutOfService(n));
  setReady(n, "False");
  n.spec.taints.front().key = "node.kubernetes.io/not-ready";
  EXPECT_FALSE(isNodeOutOfService(n));
}

TEST(PodGc, ReasonOfEachPodItFinishes) {
  Pod p;
  p.status.phase = "Running";
  EXPECT_EQ(podGcReason(p, nullptr, false), PodGcReason::None);
  p.metadata.deletionTimestamp = api::Time::now();
  EXPECT_EQ(podGcReason(p, nullptr, false), PodGcReason::UnscheduledTerminating);

  // Bound to a node the cache lacks: only once the quarantine confirmed it gone, deleting or
  // not.
  p.spec.nodeName = "node-a";
  p.metadata.deletionTimestamp.reset();
  EXPECT_EQ(podGcReason(p, nullptr, false), PodGcReason::None);
  EXPECT_EQ(podGcReason(p, nullptr, true), PodGcReason::NodeDeleted);

  // On an out-of-service node: only while being deleted, terminal or not.
  auto node = outOfServiceNode();
  EXPECT_EQ(podGcReason(p, &node, false), PodGcReason::None);
  p.metadata.deletionTimestamp = api::Time::now();
  p.metadata.deletionGracePeriodSeconds = 30;
  EXPECT_EQ(podGcReason(p, &node, false), PodGcReason::NodeOutOfService);
  p.status.phase = "Succeeded";
  EXPECT_EQ(podGcReason(p, &node, false), PodGcReason::NodeOutOfService);
  setReady(node, "True");
  EXPECT_EQ(podGcReason(p, &node, false), PodGcReason::None);

  // Failed and force-deleted already: its finalizers alone keep it.
  p.status.phase = "Failed";
  p.metadata.deletionGracePeriodSeconds = 0;
  EXPECT_EQ(podGcReason(p, nullptr, true), PodGcReason::None);
  p.spec.nodeName.clear();
  EXPECT_EQ(podGcReason(p, nullptr, false), PodGcReason::None);
}

TEST(PodGc, MarksFailedWithDisruptionTargetForNodeReasons) {
  Pod p;
  p.status.phase = "Running";
  const api::Time now(std::chrono::system_clock::time_point(1'700'000'000s));
  auto failed = failedByPodGc(p, PodGcReason::NodeDeleted, now);
  EXPECT_EQ(failed.status.phase, "Failed");
  ASSERT_EQ(failed.status.conditions.size(), 1U);
  const auto& c = failed.status.conditions.front();
  EXPECT_EQ(c.type, "DisruptionTarget");
  EXPECT_EQ(c.status, "True");
  EXPECT_EQ(c.reason, "DeletionByPodGC");
  EXPECT_EQ(c.message, "PodGC: node no longer exists");
  EXPECT_EQ(c.lastTransitionTime, now);

  // An earlier DisruptionTarget (say, from an eviction) is replaced, not duplicated.
  p.status.conditions.push_back(c);
  p.status.conditions.front().reason = "EvictionByEvictionAPI";
  failed = failedByPodGc(p, PodGcReason::NodeOutOfService, now);
  ASSERT_EQ(failed.status.conditions.size(), 1U);
  EXPECT_EQ(failed.status.conditions.front().reason, "DeletionByPodGC");
  EXPECT_EQ(failed.status.conditions.front().message, "PodGC: node is out-of-service");

  // Never bound: Failed, without a condition (as upstream).
  failed = failedByPodGc(Pod{}, PodGcReason::UnscheduledTerminating, now);
  EXPECT_EQ(failed.status.phase, "Failed");
  EXPECT_TRUE(failed.status.conditions.empty());
}

std::shared_ptr<const Pod> pod(const std::string& name, const std::string& phase,
                               std::chrono::seconds created, const std::string& reason = {}) {
  Pod p;
  p.metadata.namespace_ = "default";
  p.metadata.name = name;
  p.metadata.creationTimestamp = api::Time(std::chrono::system_clock::time_point(created));
  p.status.phase = phase;
  p.status.reason = reason;
  return std::make_shared<const Pod>(std::move(p));
}

std::vector<std::string> names(const std::vector<std::shared_ptr<const Pod>>& pods) {
  std::vector<std::string> out;
  out.reserve(pods.size());
  for (const auto& p : pods) out.push_back(p->metadata.name);
  return out;
}

TEST(PodGc, TerminatedPodsOverThresholdEvictedThenOldestThenByName) {
  const std::vector<std::shared_ptr<const Pod>> pods = {
      pod("running-oldest", "Running", 10s),
      pod("c", "Succeeded", 30s),
      pod("b", "Failed", 20s),
      pod("a", "Succeeded", 20s),
      pod("evicted", "Failed", 50s, "Evicted"),
      pod("newest", "Failed", 60s),
  };
  EXPECT_EQ(names(terminatedPodsOverThreshold(pods, 2)),
            (std::vector<std::string>{"evicted", "a", "b"}));
  EXPECT_EQ(names(terminatedPodsOverThreshold(pods, 4)), (std::vector<std::string>{"evicted"}));
  EXPECT_TRUE(terminatedPodsOverThreshold(pods, 5).empty());  // the running pod does not count
  EXPECT_TRUE(terminatedPodsOverThreshold(pods, 0).empty());  // disabled
  EXPECT_TRUE(terminatedPodsOverThreshold(pods, -1).empty());
}

TEST(NodeQuarantine, NodeIsDueOnlyAfterThePeriodAndConfirmedOnce) {
  NodeQuarantine q(40s);
  const NodeQuarantine::Clock::time_point t0{};
  EXPECT_FALSE(q.nextDue());
  q.track({"gone", "lagging"}, t0);
  EXPECT_TRUE(q.due(t0 + 39s).empty());
  EXPECT_EQ(q.nextDue(), t0 + 40s);
  // Seen missing again later: the quarantine still counts from the first sighting.
  q.track({"gone", "lagging"}, t0 + 20s);
  EXPECT_EQ(q.due(t0 + 40s), (std::vector<std::string>{"gone", "lagging"}));
  q.confirm("gone");
  q.restart("lagging", t0 + 40s);  // the API server has it: a fresh quarantine
  EXPECT_TRUE(q.confirmedDeleted("gone"));
  EXPECT_FALSE(q.confirmedDeleted("lagging"));
  EXPECT_TRUE(q.due(t0 + 79s).empty());
  EXPECT_EQ(q.nextDue(), t0 + 80s);
  // No pod is bound to "gone" any more and "lagging" is back in the cache: both forgotten, so
  // a node of that name that goes missing later is quarantined afresh.
  q.track({}, t0 + 81s);
  EXPECT_FALSE(q.confirmedDeleted("gone"));
  EXPECT_FALSE(q.nextDue());
  q.track({"gone"}, t0 + 90s);
  EXPECT_FALSE(q.confirmedDeleted("gone"));
  EXPECT_TRUE(q.due(t0 + 129s).empty());
}

}  // namespace
}  // namespace kite::controlplane::controllers
