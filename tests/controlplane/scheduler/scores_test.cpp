// Scores, the whole decision (Algorithm) and upstream's FailedScheduling text.
#include <gtest/gtest.h>

#include <set>

#include "kite/controlplane/scheduler/algorithm.h"
#include "objects.h"

namespace kite::controlplane::scheduler {
namespace {

using namespace testing;  // NOLINT

TEST(Scores, LeastAllocatedPrefersTheEmptierNode) {
  const auto empty = nodeInfo(makeNode("n1", "4", "8Gi"));
  const auto busy = nodeInfo(makeNode("n2", "4", "8Gi"), {makePod("a", "3", "6Gi")});
  const auto pod = info(makePod("p", "1", "2Gi"));
  EXPECT_EQ(scoreLeastAllocated(pod, empty), 75);
  EXPECT_EQ(scoreLeastAllocated(pod, busy), 0);
}

TEST(Scores, BalancedAllocation) {
  const auto node = nodeInfo(makeNode("n1", "4", "4Gi"));
  EXPECT_EQ(scoreBalancedAllocation(info(makePod("p", "2", "2Gi")), node), 100);
  EXPECT_EQ(scoreBalancedAllocation(info(makePod("q", "4", "0")), node), 50);
}

TEST(Scores, PreferredNodeAffinityAndPreferNoScheduleTaints) {
  auto node = makeNode("n1");
  node.metadata.labels["zone"] = "a";
  node.spec.taints.push_back({.key = "soft", .effect = "PreferNoSchedule"});
  auto pod = makePod("p");
  pod.spec.affinity = corev1::Affinity{
      .nodeAffinity = corev1::NodeAffinity{
          .preferredDuringSchedulingIgnoredDuringExecution = {
              {.weight = 30,
               .preference =
                   {.matchExpressions = {{.key = "zone", .operator_ = "In", .values = {"a"}}}}},
              {.weight = 5,
               .preference = {
                   .matchExpressions = {{.key = "zone", .operator_ = "In", .values = {"b"}}}}}}}};
  EXPECT_EQ(scoreNodeAffinity(pod, nodeInfo(node)), 30);
  EXPECT_EQ(scoreTaintToleration(pod, nodeInfo(node)), 1);
  pod.spec.tolerations.push_back({.key = "soft", .operator_ = "Exists"});
  EXPECT_EQ(scoreTaintToleration(pod, nodeInfo(node)), 0);
}

TEST(Algorithm, PicksTheNodeThatFits) {
  std::vector<NodeInfo> nodes;
  nodes.push_back(nodeInfo(makeNode("small", "1", "1Gi")));
  nodes.push_back(nodeInfo(makeNode("big", "8", "16Gi")));
  Algorithm algorithm(nullptr, 1);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(algorithm.schedule(info(makePod("p", "2", "1Gi")), pointers(nodes)).node, "big");
  }
}

TEST(Algorithm, PrefersPreferredAffinityOverEmptiness) {
  std::vector<NodeInfo> nodes;
  auto labelled = makeNode("labelled");
  labelled.metadata.labels["tier"] = "fast";
  nodes.push_back(nodeInfo(labelled, {makePod("a", "1", "1Gi")}));
  nodes.push_back(nodeInfo(makeNode("plain")));
  auto pod = makePod("p", "100m", "");
  pod.spec.affinity = corev1::Affinity{
      .nodeAffinity = corev1::NodeAffinity{
          .preferredDuringSchedulingIgnoredDuringExecution = {
              {.weight = 100,
               .preference = {.matchExpressions = {{.key = "tier", .operator_ = "Exists"}}}}}}};
  Algorithm algorithm(nullptr, 7);
  EXPECT_EQ(algorithm.schedule(info(pod), pointers(nodes)).node, "labelled");
}

TEST(Algorithm, SpreadsPodsOfOneController) {
  std::vector<NodeInfo> nodes;
  for (const char* n : {"n1", "n2", "n3"}) nodes.push_back(nodeInfo(makeNode(n)));
  Algorithm algorithm(nullptr, 3);
  std::set<std::string> used;
  for (int i = 0; i < 3; ++i) {
    auto pod = makePod("web-" + std::to_string(i));
    pod.metadata.labels["app"] = "web";
    pod.metadata.ownerReferences.push_back({.apiVersion = "apps/v1",
                                            .kind = "ReplicaSet",
                                            .name = "web",
                                            .uid = "rs-uid",
                                            .controller = true});
    const auto result = algorithm.schedule(info(pod), pointers(nodes));
    used.insert(result.node);
    pod.spec.nodeName = result.node;
    for (auto& n : nodes) {
      if (n.name() == result.node) n.addPod(info(pod));
    }
  }
  EXPECT_EQ(used.size(), 3U);
}

TEST(Algorithm, TiesAreBrokenAtRandom) {
  std::vector<NodeInfo> nodes;
  nodes.reserve(4);
  for (int i = 0; i < 4; ++i) nodes.push_back(nodeInfo(makeNode("n" + std::to_string(i))));
  Algorithm algorithm(nullptr, 42);
  std::set<std::string> chosen;
  for (int i = 0; i < 50; ++i)
    chosen.insert(algorithm.schedule(info(makePod("p")), pointers(nodes)).node);
  EXPECT_GT(chosen.size(), 1U);
}

TEST(Algorithm, NumFeasibleNodesToFind) {
  EXPECT_EQ(Algorithm::numFeasibleNodesToFind(50), 50U);
  EXPECT_EQ(Algorithm::numFeasibleNodesToFind(100), 100U);
  EXPECT_EQ(Algorithm::numFeasibleNodesToFind(1000), 420U);
  EXPECT_EQ(Algorithm::numFeasibleNodesToFind(5000), 500U);
  EXPECT_EQ(Algorithm::numFeasibleNodesToFind(150), 100U);
}

TEST(FailedScheduling, UpstreamMessageWithSortedReasonCounts) {
  std::vector<NodeInfo> nodes;
  auto cp1 = makeNode("cp1");
  cp1.spec.taints.push_back(
      {.key = "node-role.kubernetes.io/control-plane", .effect = "NoSchedule"});
  auto cp2 = cp1;
  cp2.metadata.name = "cp2";
  nodes.push_back(nodeInfo(cp1));
  nodes.push_back(nodeInfo(cp2));
  nodes.push_back(nodeInfo(makeNode("worker", "1", "8Gi")));
  Algorithm algorithm(nullptr, 1);
  try {
    algorithm.schedule(info(makePod("p", "2", "")), pointers(nodes));
    FAIL() << "expected FitError";
  } catch (const FitError& e) {
    EXPECT_STREQ(e.what(),
                 "0/3 nodes are available: 1 Insufficient cpu, 2 node(s) had untolerated taint "
                 "{node-role.kubernetes.io/control-plane: }.");
    EXPECT_EQ(failedSchedulingMessage(e, info(makePod("p", "2", "")), pointers(nodes)),
              "0/3 nodes are available: 1 Insufficient cpu, 2 node(s) had untolerated taint "
              "{node-role.kubernetes.io/control-plane: }. preemption: 0/3 nodes are available: 1 "
              "No preemption victims found for incoming pod, 2 Preemption is not helpful for "
              "scheduling.");
    EXPECT_EQ(e.statuses().size(), 3U);
  }
}

TEST(FailedScheduling, EveryReasonOfANodeCounts) {
  std::map<std::string, Status> statuses;
  statuses["a"] = {Code::Unschedulable, {"Insufficient cpu", "Insufficient memory"}};
  statuses["b"] = Status::unresolvable("node(s) didn't match Pod's node affinity/selector");
  statuses["c"] = Status::unresolvable("node(s) were unschedulable");
  EXPECT_EQ(
      fitErrorMessage(3, statuses, {}, "preemption: not eligible due to preemptionPolicy=Never."),
      "0/3 nodes are available: 1 Insufficient cpu, 1 Insufficient memory, 1 node(s) didn't "
      "match Pod's node affinity/selector, 1 node(s) were unschedulable. preemption: not "
      "eligible due to preemptionPolicy=Never.");
}

TEST(FailedScheduling, NoNodes) {
  Algorithm algorithm;
  try {
    algorithm.schedule(info(makePod("p")), {});
    FAIL();
  } catch (const FitError& e) {
    EXPECT_STREQ(e.what(), "no nodes available to schedule pods");
  }
}

TEST(FailedScheduling, PortsAndSelector) {
  std::vector<NodeInfo> nodes;
  auto pod = makePod("p");
  pod.spec.containers[0].ports.push_back({.hostPort = 80, .containerPort = 80});
  auto taken = pod;
  taken.metadata.name = "other";
  nodes.push_back(nodeInfo(makeNode("n1"), {taken}));
  nodes.push_back(nodeInfo(makeNode("n2"), {taken}));
  Algorithm algorithm;
  try {
    algorithm.schedule(info(pod), pointers(nodes));
    FAIL();
  } catch (const FitError& e) {
    EXPECT_EQ(failedSchedulingMessage(e, info(pod), pointers(nodes)),
              "0/2 nodes are available: 2 node(s) didn't have free ports for the requested pod "
              "ports. preemption: 0/2 nodes are available: 2 No preemption victims found for "
              "incoming pod.");
  }
}

}  // namespace
}  // namespace kite::controlplane::scheduler
