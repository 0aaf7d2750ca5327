// The filter plugins on plain objects.
#include <gtest/gtest.h>

#include "kite/controlplane/scheduler/plugins.h"
#include "objects.h"

namespace kite::controlplane::scheduler {
namespace {

using namespace testing;  // NOLINT

corev1::NodeSelectorRequirement req(std::string key, std::string op,
                                    std::vector<std::string> values = {}) {
  return {.key = std::move(key), .operator_ = std::move(op), .values = std::move(values)};
}

TEST(PodRequests, SumsContainersTakesLargestInitAndAddsOverhead) {
  auto pod = makePod("p", "500m", "1Gi");
  auto second = pod.spec.containers.front();
  second.name = "second";
  second.resources.requests = resources("250m", "");
  pod.spec.containers.push_back(second);
  corev1::Container init;
  init.name = "init";
  init.resources.requests = resources("2", "100Mi");
  pod.spec.initContainers.push_back(init);
  pod.spec.overhead = resources("100m", "");
  const Resource r = podRequests(pod);
  EXPECT_EQ(r.milliCpu, 2100);  // max(750, 2000) + 100
  EXPECT_EQ(r.memory, 1LL << 30);
}

TEST(PodRequests, SidecarInitContainersKeepRunning) {
  auto pod = makePod("p", "500m", "");
  corev1::Container sidecar;
  sidecar.name = "sidecar";
  sidecar.restartPolicy = "Always";
  sidecar.resources.requests = resources("200m", "");
  pod.spec.initContainers.push_back(sidecar);
  EXPECT_EQ(podRequests(pod).milliCpu, 700);
}

TEST(PodRequests, NonZeroDefaultsForScoring) {
  const auto pod = makePod("p");
  EXPECT_EQ(podRequests(pod).milliCpu, 0);
  EXPECT_EQ(podNonZeroRequests(pod).milliCpu, 100);
  EXPECT_EQ(podNonZeroRequests(pod).memory, 200LL * 1024 * 1024);
}

TEST(NodeResourcesFit, FitsUntilAllocatableIsUsedUp) {
  const auto node = nodeInfo(makeNode("n1", "2", "4Gi"), {makePod("a", "1500m", "1Gi")});
  EXPECT_TRUE(filterNodeResourcesFit(info(makePod("b", "500m", "1Gi")), node).ok());
  const Status s = filterNodeResourcesFit(info(makePod("c", "600m", "4Gi")), node);
  EXPECT_EQ(s.code, Code::Unschedulable);
  EXPECT_EQ(s.reasons, (std::vector<std::string>{"Insufficient cpu", "Insufficient memory"}));
}

TEST(NodeResourcesFit, CountsPodsAndEphemeralStorage) {
  const auto full = nodeInfo(makeNode("n1", "2", "4Gi", "1"), {makePod("a")});
  EXPECT_EQ(filterNodeResourcesFit(info(makePod("b")), full).reasons,
            std::vector<std::string>{"Too many pods"});
  auto pod = makePod("e");
  pod.spec.containers[0].resources.requests["ephemeral-storage"] = api::Quantity::parse("1Gi");
  EXPECT_EQ(filterNodeResourcesFit(info(pod), nodeInfo(makeNode("n2"))).reasons,
            std::vector<std::string>{"Insufficient ephemeral-storage"});
}

TEST(NodeResourcesFit, ExtendedResources) {
  auto pod = makePod("gpu");
  pod.spec.containers[0].resources.requests["example.com/gpu"] = api::Quantity::parse("1");
  auto node = makeNode("n1");
  EXPECT_EQ(filterNodeResourcesFit(info(pod), nodeInfo(node)).reasons,
            std::vector<std::string>{"Insufficient example.com/gpu"});
  node.status.allocatable["example.com/gpu"] = api::Quantity::parse("2");
  EXPECT_TRUE(filterNodeResourcesFit(info(pod), nodeInfo(node)).ok());
}

TEST(NodeName, OnlyTheNamedNode) {
  auto pod = makePod("p");
  EXPECT_TRUE(filterNodeName(pod, nodeInfo(makeNode("n1"))).ok());
  pod.spec.nodeName = "n2";
  const Status s = filterNodeName(pod, nodeInfo(makeNode("n1")));
  EXPECT_EQ(s.code, Code::UnschedulableAndUnresolvable);
  EXPECT_EQ(s.reasons.front(), "node(s) didn't match the requested node name");
}

TEST(NodeUnschedulable, CordonedUnlessTolerated) {
  auto node = makeNode("n1");
  node.spec.unschedulable = true;
  auto pod = makePod("p");
  EXPECT_EQ(filterNodeUnschedulable(pod, nodeInfo(node)).reasons.front(),
            "node(s) were unschedulable");
  pod.spec.tolerations.push_back(
      {.key = "node.kubernetes.io/unschedulable", .operator_ = "Exists", .effect = "NoSchedule"});
  EXPECT_TRUE(filterNodeUnschedulable(pod, nodeInfo(node)).ok());
}

TEST(NodeAffinity, NodeSelector) {
  auto node = makeNode("n1");
  node.metadata.labels["disk"] = "ssd";
  auto pod = makePod("p");
  pod.spec.nodeSelector["disk"] = "ssd";
  EXPECT_TRUE(filterNodeAffinity(pod, nodeInfo(node)).ok());
  pod.spec.nodeSelector["disk"] = "hdd";
  const Status s = filterNodeAffinity(pod, nodeInfo(node));
  EXPECT_EQ(s.code, Code::UnschedulableAndUnresolvable);
  EXPECT_EQ(s.reasons.front(), "node(s) didn't match Pod's node affinity/selector");
}

TEST(NodeAffinity, RequirementOperators) {
  auto node = makeNode("n1");
  node.metadata.labels["zone"] = "a";
  node.metadata.labels["cores"] = "8";
  EXPECT_TRUE(nodeSelectorRequirementMatches(req("zone", "In", {"a", "b"}), node, false));
  EXPECT_FALSE(nodeSelectorRequirementMatches(req("zone", "In", {"b"}), node, false));
  EXPECT_TRUE(nodeSelectorRequirementMatches(req("zone", "NotIn", {"b"}), node, false));
  EXPECT_TRUE(nodeSelectorRequirementMatches(req("missing", "NotIn", {"b"}), node, false));
  EXPECT_TRUE(nodeSelectorRequirementMatches(req("zone", "Exists"), node, false));
  EXPECT_FALSE(nodeSelectorRequirementMatches(req("zone", "DoesNotExist"), node, false));
  EXPECT_TRUE(nodeSelectorRequirementMatches(req("missing", "DoesNotExist"), node, false));
  EXPECT_TRUE(nodeSelectorRequirementMatches(req("cores", "Gt", {"4"}), node, false));
  EXPECT_FALSE(nodeSelectorRequirementMatches(req("cores", "Lt", {"4"}), node, false));
  EXPECT_FALSE(nodeSelectorRequirementMatches(req("zone", "Gt", {"4"}), node, false));
  EXPECT_FALSE(nodeSelectorRequirementMatches(req("cores", "Gt", {"x"}), node, false));
  EXPECT_TRUE(nodeSelectorRequirementMatches(req("metadata.name", "In", {"n1"}), node, true));
  EXPECT_FALSE(nodeSelectorRequirementMatches(req("metadata.name", "NotIn", {"n1"}), node, true));
  EXPECT_FALSE(nodeSelectorRequirementMatches(req("metadata.name", "Exists"), node, true));
}

TEST(NodeAffinity, RequiredTermsAreOredAndRequirementsAnded) {
  auto node = makeNode("n1");
  node.metadata.labels["zone"] = "a";
  auto pod = makePod("p");
  corev1::NodeSelector selector;
  selector.nodeSelectorTerms.push_back({.matchExpressions = {req("zone", "In", {"b"})}});
  pod.spec.affinity =
      corev1::Affinity{.nodeAffinity = corev1::NodeAffinity{
                           .requiredDuringSchedulingIgnoredDuringExecution = selector}};
  EXPECT_FALSE(filterNodeAffinity(pod, nodeInfo(node)).ok());
  selector.nodeSelectorTerms.push_back({.matchExpressions = {req("zone", "In", {"a"})},
                                        .matchFields = {req("metadata.name", "In", {"n1"})}});
  pod.spec.affinity->nodeAffinity->requiredDuringSchedulingIgnoredDuringExecution = selector;
  EXPECT_TRUE(filterNodeAffinity(pod, nodeInfo(node)).ok());
  // An empty term matches nothing.
  pod.spec.affinity->nodeAffinity->requiredDuringSchedulingIgnoredDuringExecution =
      corev1::NodeSelector{.nodeSelectorTerms = {corev1::NodeSelectorTerm{}}};
  EXPECT_FALSE(filterNodeAffinity(pod, nodeInfo(node)).ok());
}

TEST(TaintToleration, UntoleratedNoScheduleAndNoExecute) {
  auto node = makeNode("n1");
  node.spec.taints.push_back(
      {.key = "node-role.kubernetes.io/control-plane", .effect = "NoSchedule"});
  auto pod = makePod("p");
  Status s = filterTaintToleration(pod, nodeInfo(node));
  EXPECT_EQ(s.code, Code::UnschedulableAndUnresolvable);
  EXPECT_EQ(s.reasons.front(),
            "node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }");
  pod.spec.tolerations.push_back(
      {.key = "node-role.kubernetes.io/control-plane", .operator_ = "Exists"});
  EXPECT_TRUE(filterTaintToleration(pod, nodeInfo(node)).ok());

  node.spec.taints = {{.key = "dedicated", .value = "gpu", .effect = "NoExecute"}};
  pod.spec.tolerations = {{.key = "dedicated", .value = "db", .effect = "NoExecute"}};
  EXPECT_EQ(filterTaintToleration(pod, nodeInfo(node)).reasons.front(),
            "node(s) had untolerated taint {dedicated: gpu}");
  pod.spec.tolerations = {{.key = "dedicated", .operator_ = "Equal", .value = "gpu"}};
  EXPECT_TRUE(filterTaintToleration(pod, nodeInfo(node)).ok());
  // PreferNoSchedule never filters.
  node.spec.taints = {{.key = "soft", .effect = "PreferNoSchedule"}};
  EXPECT_TRUE(filterTaintToleration(makePod("q"), nodeInfo(node)).ok());
  // An empty key with Exists tolerates everything.
  node.spec.taints = {{.key = "x", .value = "y", .effect = "NoSchedule"}};
  pod.spec.tolerations = {{.operator_ = "Exists"}};
  EXPECT_TRUE(filterTaintToleration(pod, nodeInfo(node)).ok());
  // The wrong effect does not.
  pod.spec.tolerations = {{.key = "x", .operator_ = "Exists", .effect = "NoExecute"}};
  EXPECT_FALSE(filterTaintToleration(pod, nodeInfo(node)).ok());
}

corev1::Pod withHostPort(corev1::Pod pod, int port, std::string ip = "",
                         std::string protocol = "") {
  pod.spec.containers[0].ports.push_back({.hostPort = port,
                                          .containerPort = 80,
                                          .protocol = std::move(protocol),
                                          .hostIP = std::move(ip)});
  return pod;
}

TEST(NodePorts, ConflictsOnSamePortProtocolAndOverlappingIp) {
  const auto node = nodeInfo(makeNode("n1"), {withHostPort(makePod("a"), 8080)});
  const Status s = filterNodePorts(info(withHostPort(makePod("b"), 8080)), node);
  EXPECT_EQ(s.code, Code::Unschedulable);
  EXPECT_EQ(s.reasons.front(), "node(s) didn't have free ports for the requested pod ports");
  EXPECT_TRUE(filterNodePorts(info(withHostPort(makePod("c"), 8081)), node).ok());
  EXPECT_TRUE(filterNodePorts(info(withHostPort(makePod("d"), 8080, "", "UDP")), node).ok());
  EXPECT_FALSE(filterNodePorts(info(withHostPort(makePod("e"), 8080, "10.0.0.1")), node).ok());
  const auto specific = nodeInfo(makeNode("n2"), {withHostPort(makePod("a"), 53, "10.0.0.1")});
  EXPECT_TRUE(filterNodePorts(info(withHostPort(makePod("f"), 53, "10.0.0.2")), specific).ok());
}

TEST(NodeInfo, RemovingAPodGivesItsResourcesBack) {
  auto node = nodeInfo(makeNode("n1", "1", "1Gi"), {makePod("a", "1", "")});
  EXPECT_FALSE(filterNodeResourcesFit(info(makePod("b", "500m", "")), node).ok());
  EXPECT_TRUE(node.removePod("default/a"));
  EXPECT_TRUE(filterNodeResourcesFit(info(makePod("b", "500m", "")), node).ok());
  EXPECT_FALSE(node.removePod("default/a"));
}

}  // namespace
}  // namespace kite::controlplane::scheduler
