// Preemption on plain objects: which pods go, which node is picked, when a pod may not
// preempt, and the room nominated pods keep.
#include <gtest/gtest.h>

#include <chrono>

#include "kite/controlplane/scheduler/algorithm.h"
#include "kite/controlplane/scheduler/nominator.h"
#include "kite/controlplane/scheduler/preemption.h"
#include "objects.h"

namespace kite::controlplane::scheduler {
namespace {

using namespace testing;  // NOLINT

corev1::Pod withPriority(corev1::Pod pod, std::int32_t priority) {
  pod.spec.priority = priority;
  return pod;
}

corev1::Pod startedAt(corev1::Pod pod, int secondsAgo) {
  static const auto base = api::Time::Clock::now();  // equal ages compare equal
  pod.status.startTime = api::Time(base - std::chrono::seconds(secondsAgo));
  return pod;
}

std::vector<std::string> names(const std::vector<PodInfo>& pods) {
  std::vector<std::string> out;
  out.reserve(pods.size());
  for (const auto& p : pods) out.push_back(p.pod->metadata.name);
  return out;
}

// The filters' statuses of the attempt that failed, as the scheduler hands them over.
std::map<std::string, Status> failedStatuses(const PodInfo& pod,
                                             const std::vector<const NodeInfo*>& nodes,
                                             const NominatedPods& nominated = {}) {
  try {
    Algorithm(nullptr, 1).schedule(pod, nodes, nominated);
  } catch (const FitError& e) {
    return e.statuses();
  }
  ADD_FAILURE() << "the pod fits";
  return {};
}

PreemptionResult preempt(const corev1::Pod& pod, const std::vector<NodeInfo>& nodes,
                         const PdbList& pdbs = {}, const NominatedPods& nominated = {}) {
  const PodInfo p = info(pod);
  return Preemptor(nullptr, 1)
      .preempt(p, pointers(nodes), failedStatuses(p, pointers(nodes)), pdbs, nominated);
}

std::optional<Victims> victimsOn(const corev1::Pod& pod, const NodeInfo& node,
                                 const PdbList& pdbs = {}, Status* failure = nullptr) {
  const PodInfo p = info(pod);
  Status ignored;
  const std::vector<const NodeInfo*> nodes{&node};
  return selectVictimsOnNode(p, node, prepareCycleState(p, nodes, nullptr), pdbs, {}, nullptr,
                             failure != nullptr ? failure : &ignored);
}

TEST(SelectVictims, RemovesLowerPriorityPodsAndReprievesTheMostImportantFirst) {
  const auto node = nodeInfo(
      makeNode("n1", "4", "8Gi"),
      {withPriority(makePod("low", "1", ""), 1), withPriority(makePod("mid", "1", ""), 2),
       withPriority(makePod("high", "2", ""), 3), withPriority(makePod("same", "0", ""), 10)});
  // Needs 2 cpus: "high" (2 cpus) is put back first and still leaves room; then neither
  // "mid" nor "low" fits beside it. "same" has the preemptor's priority: never a victim.
  const auto victims = victimsOn(withPriority(makePod("p", "2", ""), 10), node);
  ASSERT_TRUE(victims.has_value());
  EXPECT_EQ(names(victims->pods), (std::vector<std::string>{"mid", "low"}));
  EXPECT_EQ(victims->numPdbViolations, 0);
}

TEST(SelectVictims, EqualPriorityIsNoVictimAndANodeThatStaysFullIsNoCandidate) {
  const auto equal = nodeInfo(makeNode("n1", "2", "8Gi"), {withPriority(makePod("a", "2", ""), 5)});
  Status failure;
  EXPECT_FALSE(victimsOn(withPriority(makePod("p", "1", ""), 5), equal, {}, &failure));
  EXPECT_EQ(failure.code, Code::UnschedulableAndUnresolvable);
  EXPECT_EQ(failure.reasons,
            std::vector<std::string>{"No preemption victims found for incoming pod"});

  const auto stillFull =
      nodeInfo(makeNode("n2", "2", "8Gi"), {withPriority(makePod("big", "1500m", ""), 100),
                                            withPriority(makePod("small", "500m", ""), 1)});
  EXPECT_FALSE(victimsOn(withPriority(makePod("p", "1", ""), 5), stillFull, {}, &failure));
  EXPECT_EQ(failure.reasons, std::vector<std::string>{"Insufficient cpu"});
}

TEST(SelectVictims, HostPortsAndTheVictimsAntiAffinityAreResolved) {
  auto port = withPriority(makePod("port", "", ""), 0);
  port.spec.containers[0].ports.push_back({.hostPort = 8080, .containerPort = 80});
  auto pod = withPriority(makePod("p"), 100);
  pod.spec.containers[0].ports.push_back({.hostPort = 8080, .containerPort = 8080});
  pod.metadata.labels["app"] = "db";
  auto anti = withPriority(makePod("anti"), 0);
  anti.spec.affinity = corev1::Affinity{};
  anti.spec.affinity->podAntiAffinity = corev1::PodAntiAffinity{};
  corev1::PodAffinityTerm term;
  term.topologyKey = "kubernetes.io/hostname";
  term.labelSelector = api::meta::v1::LabelSelector{.matchLabels = {{"app", "db"}}};
  anti.spec.affinity->podAntiAffinity->requiredDuringSchedulingIgnoredDuringExecution.push_back(
      term);
  std::vector<NodeInfo> nodes;
  nodes.push_back(nodeInfo(makeNode("ports"), {port}));
  nodes.push_back(nodeInfo(makeNode("anti"), {anti}));
  const PodInfo p = info(pod);
  const auto statuses = failedStatuses(p, pointers(nodes));
  EXPECT_EQ(statuses.at("ports").code, Code::Unschedulable);
  EXPECT_EQ(statuses.at("anti").code, Code::Unschedulable);
  EXPECT_EQ(names(victimsOn(pod, nodes[0])->pods), std::vector<std::string>{"port"});
  EXPECT_EQ(names(victimsOn(pod, nodes[1])->pods), std::vector<std::string>{"anti"});
}

std::shared_ptr<const api::policy::v1::PodDisruptionBudget> pdb(const std::string& app,
                                                                int allowed) {
  api::policy::v1::PodDisruptionBudget b;
  b.metadata.name = app;
  b.metadata.namespace_ = "default";
  b.spec.selector = api::meta::v1::LabelSelector{.matchLabels = {{"app", app}}};
  b.status.disruptionsAllowed = allowed;
  return std::make_shared<const api::policy::v1::PodDisruptionBudget>(b);
}

TEST(SelectVictims, PodsAPdbProtectsAreReprievedFirst) {
  auto older = startedAt(withPriority(makePod("older", "1", ""), 1), 100);
  older.metadata.labels["app"] = "a";
  auto newer = startedAt(withPriority(makePod("newer", "1", ""), 1), 10);
  newer.metadata.labels["app"] = "b";
  const auto node = nodeInfo(makeNode("n1", "2", "8Gi"), {older, newer});
  const auto pod = withPriority(makePod("p", "1", ""), 10);
  // Same priority: the one running longer is more important and stays.
  EXPECT_EQ(names(victimsOn(pod, node)->pods), std::vector<std::string>{"newer"});
  // A budget with no disruption left for "newer": it is put back first, "older" goes.
  const auto victims = victimsOn(pod, node, {pdb("b", 0)});
  EXPECT_EQ(names(victims->pods), std::vector<std::string>{"older"});
  EXPECT_EQ(victims->numPdbViolations, 0);
  // Both protected: one has to go anyway and counts as a violation.
  EXPECT_EQ(victimsOn(pod, node, {pdb("a", 0), pdb("b", 0)})->numPdbViolations, 1);
}

TEST(PdbViolations, CountsDownTheAllowedDisruptions) {
  auto a1 = makePod("a1");
  a1.metadata.labels["app"] = "a";
  auto a2 = a1;
  a2.metadata.name = "a2";
  auto other = a1;
  other.metadata.name = "elsewhere";
  other.metadata.namespace_ = "other";
  const std::vector<PodInfo> pods{info(a1), info(a2), info(other), info(makePod("nolabels"))};
  EXPECT_EQ(pdbViolations(pods, {pdb("a", 1)}), (std::vector<bool>{false, true, false, false}));
  // A pod the API server already counts as disrupted does not use the budget again.
  auto counted = std::make_shared<api::policy::v1::PodDisruptionBudget>(*pdb("a", 0));
  counted->status.disruptedPods["a1"] = api::Time::now();
  EXPECT_EQ(pdbViolations(pods, {counted}), (std::vector<bool>{false, true, false, false}));
  // An empty selector matches nothing.
  auto empty = std::make_shared<api::policy::v1::PodDisruptionBudget>(*pdb("a", 0));
  empty->spec.selector = api::meta::v1::LabelSelector{};
  EXPECT_EQ(pdbViolations(pods, {empty}), (std::vector<bool>(4, false)));
}

Victims victims(const std::vector<corev1::Pod>& pods, int pdbViolations = 0) {
  Victims v;
  v.pods.reserve(pods.size());
  for (const auto& p : pods) v.pods.push_back(info(p));
  v.numPdbViolations = pdbViolations;
  return v;
}

TEST(PickOneNode, UpstreamsOrderOfRules) {
  const auto p = [](const char* name, std::int32_t prio, int startedSecondsAgo = 60) {
    return startedAt(withPriority(makePod(name), prio), startedSecondsAgo);
  };
  // Fewest PDB violations first, whatever the priorities.
  EXPECT_EQ(pickOneNodeForPreemption({{"a", victims({p("x", 1)}, 1)}, {"b", victims({p("y", 9)})}}),
            "b");
  // Then the lowest highest priority.
  EXPECT_EQ(pickOneNodeForPreemption(
                {{"a", victims({p("x", 5), p("y", 1)})}, {"b", victims({p("z", 3), p("w", 3)})}}),
            "b");
  // Then the smallest sum.
  EXPECT_EQ(pickOneNodeForPreemption(
                {{"a", victims({p("x", 3), p("y", 2)})}, {"b", victims({p("z", 3), p("w", 1)})}}),
            "b");
  // Then the fewest victims (negative priorities must not favour more of them).
  EXPECT_EQ(pickOneNodeForPreemption(
                {{"a", victims({p("x", -5), p("y", -5)})}, {"b", victims({p("z", -5)})}}),
            "b");
  // Then the latest start among the highest-priority victims.
  EXPECT_EQ(pickOneNodeForPreemption({{"a", victims({p("x", 3, 10), p("y", 1, 1)})},
                                      {"b", victims({p("z", 3, 5), p("w", 1, 500)})}}),
            "b");
  // Then the first.
  EXPECT_EQ(
      pickOneNodeForPreemption({{"a", victims({p("x", 3, 10)})}, {"b", victims({p("y", 3, 10)})}}),
      "a");
}

TEST(Preempt, NominatesTheBestNodeAndNamesItsVictims) {
  std::vector<NodeInfo> nodes;
  nodes.push_back(
      nodeInfo(makeNode("costly", "2", "8Gi"), {withPriority(makePod("v1", "2", ""), 50)}));
  nodes.push_back(
      nodeInfo(makeNode("cheap", "2", "8Gi"), {withPriority(makePod("v2", "2", ""), 5)}));
  auto tainted = makeNode("tainted", "8", "8Gi");
  tainted.spec.taints.push_back({.key = "k", .effect = "NoSchedule"});
  nodes.push_back(nodeInfo(tainted, {withPriority(makePod("v3", "8", ""), 0)}));
  const auto result = preempt(withPriority(makePod("p", "2", ""), 100), nodes);
  EXPECT_EQ(result.nominatedNode, "cheap");
  EXPECT_EQ(names(result.victims), std::vector<std::string>{"v2"});
  EXPECT_EQ(result.message, "");
}

TEST(Preempt, UpstreamsMessagesWhenNothingCanBePreempted) {
  std::vector<NodeInfo> nodes;
  nodes.push_back(
      nodeInfo(makeNode("equal", "2", "8Gi"), {withPriority(makePod("a", "2", ""), 7)}));
  auto tainted = makeNode("tainted", "8", "8Gi");
  tainted.spec.taints.push_back({.key = "k", .effect = "NoSchedule"});
  nodes.push_back(nodeInfo(tainted, {withPriority(makePod("b", "8", ""), 0)}));
  nodes.push_back(
      nodeInfo(makeNode("too-small", "1", "8Gi"), {withPriority(makePod("c", "1", ""), 0)}));
  const auto result = preempt(withPriority(makePod("p", "2", ""), 7), nodes);
  EXPECT_EQ(result.nominatedNode, "");  // any earlier nomination is cleared
  EXPECT_TRUE(result.victims.empty());
  EXPECT_EQ(result.message,
            "preemption: 0/3 nodes are available: 1 Insufficient cpu, 1 No preemption victims "
            "found for incoming pod, 1 Preemption is not helpful for scheduling.");

  auto never = withPriority(makePod("p", "2", ""), 1000);
  never.spec.preemptionPolicy = "Never";
  const auto refused = preempt(never, nodes);
  EXPECT_FALSE(refused.nominatedNode.has_value());
  EXPECT_TRUE(refused.victims.empty());
  EXPECT_EQ(refused.message, "preemption: not eligible due to preemptionPolicy=Never.");
}

TEST(Preempt, APodWaitingForItsVictimsToTerminateDoesNotPreemptAgain) {
  auto leaving = withPriority(makePod("leaving", "2", ""), 1);
  leaving.metadata.deletionTimestamp = api::Time::now();
  leaving.status.conditions.push_back(
      {.type = "DisruptionTarget", .status = "True", .reason = "PreemptionByScheduler"});
  std::vector<NodeInfo> nodes;
  nodes.push_back(nodeInfo(makeNode("n1", "2", "8Gi"), {leaving}));
  nodes.push_back(
      nodeInfo(makeNode("n2", "2", "8Gi"), {withPriority(makePod("other", "2", ""), 1)}));
  auto pod = withPriority(makePod("p", "2", ""), 100);
  pod.status.nominatedNodeName = "n1";
  const auto result = preempt(pod, nodes);
  EXPECT_FALSE(result.nominatedNode.has_value());
  EXPECT_TRUE(result.victims.empty());
  EXPECT_EQ(result.message,
            "preemption: not eligible due to a terminating pod on the nominated node.");
  // Deleted for another reason (no DisruptionTarget from preemption): preempting is fine.
  nodes[0] = nodeInfo(makeNode("n1", "2", "8Gi"), {[&] {
                        auto p = leaving;
                        p.status.conditions.clear();
                        return p;
                      }()});
  EXPECT_TRUE(preempt(pod, nodes).nominatedNode.has_value());
}

TEST(NominatedPods, KeepTheRoomForPodsOfEqualOrHigherPriority) {
  std::vector<NodeInfo> nodes;
  nodes.push_back(nodeInfo(makeNode("n1", "2", "8Gi")));
  NominatedPods nominated;
  nominated["n1"].push_back(info(withPriority(makePod("waiting", "2", ""), 10)));
  Algorithm algorithm(nullptr, 1);
  EXPECT_THROW(algorithm.schedule(info(withPriority(makePod("lower", "1", ""), 5)), pointers(nodes),
                                  nominated),
               FitError);
  EXPECT_THROW(algorithm.schedule(info(withPriority(makePod("equal", "1", ""), 10)),
                                  pointers(nodes), nominated),
               FitError);
  EXPECT_EQ(
      algorithm
          .schedule(info(withPriority(makePod("higher", "1", ""), 11)), pointers(nodes), nominated)
          .node,
      "n1");
  // The nominated pod itself is not in its own way.
  EXPECT_EQ(algorithm.schedule(nominated["n1"][0], pointers(nodes), nominated).node, "n1");
}

TEST(NominatedPods, APodGoesToItsNominatedNodeWhenItFits) {
  std::vector<NodeInfo> nodes;
  nodes.push_back(nodeInfo(makeNode("big", "64", "256Gi")));
  nodes.push_back(nodeInfo(makeNode("small", "2", "8Gi")));
  auto pod = makePod("p", "1", "");
  Algorithm algorithm(nullptr, 1);
  EXPECT_EQ(algorithm.schedule(info(pod), pointers(nodes)).node, "big");
  pod.status.nominatedNodeName = "small";
  EXPECT_EQ(algorithm.schedule(info(pod), pointers(nodes)).node, "small");
}

TEST(Nominator, StatusAndOwnNominations) {
  Nominator nominator;
  auto pod = std::make_shared<corev1::Pod>(withPriority(makePod("p"), 10));
  nominator.nominate(pod, "n1");
  EXPECT_EQ(nominator.snapshot().at("n1").size(), 1U);
  // A status without a node does not drop the scheduler's own nomination before the write of
  // it came back ...
  auto changed = std::make_shared<corev1::Pod>(*pod);
  changed->metadata.labels["x"] = "y";
  nominator.update(pod.get(), changed);
  EXPECT_EQ(nominator.snapshot().count("n1"), 1U);
  // ... but a status that had one and lost it does.
  auto nominated = std::make_shared<corev1::Pod>(*pod);
  nominated->status.nominatedNodeName = "n2";
  nominator.update(pod.get(), nominated);
  EXPECT_EQ(nominator.snapshot().count("n1"), 0U);
  EXPECT_EQ(nominator.lowerPriorityOn("n2", 11).size(), 1U);
  EXPECT_EQ(nominator.lowerPriorityOn("n2", 10).size(), 0U);
  nominator.update(nominated.get(), pod);
  EXPECT_TRUE(nominator.snapshot().empty());
  nominator.nominate(pod, "n1");
  nominator.remove("default/p");
  EXPECT_TRUE(nominator.snapshot().empty());
}

}  // namespace
}  // namespace kite::controlplane::scheduler
