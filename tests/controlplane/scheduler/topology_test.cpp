// InterPodAffinity, PodTopologySpread and VolumeBinding on plain objects.
#include <gtest/gtest.h>

#include "kite/controlplane/scheduler/algorithm.h"
#include "objects.h"

namespace kite::controlplane::scheduler {
namespace {

using namespace testing;  // NOLINT

corev1::Pod labelled(const std::string& name, const std::string& app) {
  auto p = makePod(name);
  p.metadata.labels["app"] = app;
  return p;
}

corev1::PodAffinityTerm term(const std::string& app, const std::string& key) {
  corev1::PodAffinityTerm t;
  t.labelSelector = api::meta::v1::LabelSelector{.matchLabels = {{"app", app}}};
  t.topologyKey = key;
  return t;
}

corev1::Node zoned(const std::string& name, const std::string& zone) {
  auto n = makeNode(name);
  n.metadata.labels["zone"] = zone;
  return n;
}

TEST(InterPodAffinity, AntiAffinityKeepsAwayFromMatchingPods) {
  std::vector<NodeInfo> nodes;
  nodes.push_back(nodeInfo(makeNode("n1"), {labelled("db-0", "db")}));
  nodes.push_back(nodeInfo(makeNode("n2")));
  auto pod = labelled("db-1", "db");
  pod.spec.affinity = corev1::Affinity{
      .podAntiAffinity = corev1::PodAntiAffinity{.requiredDuringSchedulingIgnoredDuringExecution = {
                                                     term("db", "kubernetes.io/hostname")}}};
  const auto p = info(pod);
  const auto state = prepareInterPodAffinity(p, pointers(nodes));
  const Status s = filterInterPodAffinity(p, state, nodes[0]);
  EXPECT_EQ(s.code, Code::Unschedulable);
  EXPECT_EQ(s.reasons.front(), "node(s) didn't match pod anti-affinity rules");
  EXPECT_TRUE(filterInterPodAffinity(p, state, nodes[1]).ok());
}

TEST(InterPodAffinity, ExistingPodsAntiAffinityAppliesToNewcomers) {
  auto existing = labelled("loner", "loner");
  existing.spec.affinity = corev1::Affinity{
      .podAntiAffinity = corev1::PodAntiAffinity{.requiredDuringSchedulingIgnoredDuringExecution = {
                                                     term("web", "kubernetes.io/hostname")}}};
  std::vector<NodeInfo> nodes;
  nodes.push_back(nodeInfo(makeNode("n1"), {existing}));
  nodes.push_back(nodeInfo(makeNode("n2")));
  const auto p = info(labelled("web-0", "web"));
  const auto state = prepareInterPodAffinity(p, pointers(nodes));
  EXPECT_EQ(filterInterPodAffinity(p, state, nodes[0]).reasons.front(),
            "node(s) didn't satisfy existing pods anti-affinity rules");
  EXPECT_TRUE(filterInterPodAffinity(p, state, nodes[1]).ok());
}

TEST(InterPodAffinity, AffinityNeedsAMatchingPodInTheDomain) {
  std::vector<NodeInfo> nodes;
  nodes.push_back(nodeInfo(zoned("n1", "a"), {labelled("cache", "cache")}));
  nodes.push_back(nodeInfo(zoned("n2", "a")));
  nodes.push_back(nodeInfo(zoned("n3", "b")));
  auto pod = labelled("web", "web");
  pod.spec.affinity = corev1::Affinity{
      .podAffinity = corev1::PodAffinity{
          .requiredDuringSchedulingIgnoredDuringExecution = {term("cache", "zone")}}};
  const auto p = info(pod);
  const auto state = prepareInterPodAffinity(p, pointers(nodes));
  EXPECT_TRUE(filterInterPodAffinity(p, state, nodes[0]).ok());
  EXPECT_TRUE(filterInterPodAffinity(p, state, nodes[1]).ok());
  const Status s = filterInterPodAffinity(p, state, nodes[2]);
  EXPECT_EQ(s.code, Code::UnschedulableAndUnresolvable);
  EXPECT_EQ(s.reasons.front(), "node(s) didn't match pod affinity rules");
}

TEST(InterPodAffinity, FirstPodOfASelfAffineGroupGoesAnywhere) {
  std::vector<NodeInfo> nodes;
  nodes.push_back(nodeInfo(zoned("n1", "a")));
  auto pod = labelled("web", "web");
  pod.spec.affinity = corev1::Affinity{
      .podAffinity = corev1::PodAffinity{
          .requiredDuringSchedulingIgnoredDuringExecution = {term("web", "zone")}}};
  const auto p = info(pod);
  EXPECT_TRUE(
      filterInterPodAffinity(p, prepareInterPodAffinity(p, pointers(nodes)), nodes[0]).ok());
}

TEST(InterPodAffinity, PreferredAffinityScores) {
  std::vector<NodeInfo> nodes;
  nodes.push_back(nodeInfo(zoned("n1", "a"), {labelled("cache", "cache")}));
  nodes.push_back(nodeInfo(zoned("n2", "b")));
  auto pod = labelled("web", "web");
  pod.spec.affinity =
      corev1::Affinity{.podAffinity = corev1::PodAffinity{
                           .preferredDuringSchedulingIgnoredDuringExecution = {
                               {.weight = 50, .podAffinityTerm = term("cache", "zone")}}}};
  const auto p = info(pod);
  const auto pairs = prepareInterPodAffinityScore(p, pointers(nodes));
  EXPECT_EQ(scoreInterPodAffinity(pairs, nodes[0]), 50);
  EXPECT_EQ(scoreInterPodAffinity(pairs, nodes[1]), 0);
  Algorithm algorithm(nullptr, 5);
  EXPECT_EQ(algorithm.schedule(p, pointers(nodes)).node, "n1");
}

TEST(PodTopologySpread, MaxSkewAcrossZones) {
  std::vector<NodeInfo> nodes;
  nodes.push_back(nodeInfo(zoned("n1", "a"), {labelled("w0", "web"), labelled("w1", "web")}));
  nodes.push_back(nodeInfo(zoned("n2", "b"), {labelled("w2", "web")}));
  nodes.push_back(nodeInfo(makeNode("nolabel")));
  auto pod = labelled("w3", "web");
  pod.spec.topologySpreadConstraints.push_back(
      {.maxSkew = 1,
       .topologyKey = "zone",
       .whenUnsatisfiable = "DoNotSchedule",
       .labelSelector = api::meta::v1::LabelSelector{.matchLabels = {{"app", "web"}}}});
  const auto state = prepareTopologySpread(pod, pointers(nodes));
  const Status a = filterTopologySpread(state, nodes[0]);
  EXPECT_EQ(a.code, Code::Unschedulable);
  EXPECT_EQ(a.reasons.front(), "node(s) didn't match pod topology spread constraints");
  EXPECT_TRUE(filterTopologySpread(state, nodes[1]).ok());
  const Status missing = filterTopologySpread(state, nodes[2]);
  EXPECT_EQ(missing.code, Code::UnschedulableAndUnresolvable);
  EXPECT_EQ(missing.reasons.front(),
            "node(s) didn't match pod topology spread constraints (missing required label)");
  // ScheduleAnyway constraints do not filter.
  pod.spec.topologySpreadConstraints[0].whenUnsatisfiable = "ScheduleAnyway";
  EXPECT_TRUE(filterTopologySpread(prepareTopologySpread(pod, pointers(nodes)), nodes[0]).ok());
}

class FakeVolumes final : public VolumeLister {
 public:
  std::map<std::string, std::shared_ptr<const corev1::PersistentVolumeClaim>> claims;
  std::map<std::string, std::shared_ptr<const corev1::PersistentVolume>> pvs;
  std::map<std::string, std::shared_ptr<const api::storage::v1::StorageClass>> classes;

  std::shared_ptr<const corev1::PersistentVolumeClaim> claim(
      const std::string& ns, const std::string& name) const override {
    const auto it = claims.find(ns + "/" + name);
    return it == claims.end() ? nullptr : it->second;
  }
  std::shared_ptr<const corev1::PersistentVolume> volume(const std::string& name) const override {
    const auto it = pvs.find(name);
    return it == pvs.end() ? nullptr : it->second;
  }
  std::vector<std::shared_ptr<const corev1::PersistentVolume>> volumes() const override {
    std::vector<std::shared_ptr<const corev1::PersistentVolume>> out;
    for (const auto& [n, pv] : pvs) out.push_back(pv);
    return out;
  }
  std::shared_ptr<const api::storage::v1::StorageClass> storageClass(
      const std::string& name) const override {
    const auto it = classes.find(name);
    return it == classes.end() ? nullptr : it->second;
  }
};

corev1::PersistentVolume localPv(const std::string& name, const std::string& node) {
  corev1::PersistentVolume pv;
  pv.metadata.name = name;
  pv.spec.capacity["storage"] = api::Quantity::parse("10Gi");
  pv.spec.accessModes = {"ReadWriteOnce"};
  pv.spec.storageClassName = "local";
  corev1::NodeSelector selector;
  selector.nodeSelectorTerms.push_back(
      {.matchExpressions = {
           {.key = "kubernetes.io/hostname", .operator_ = "In", .values = {node}}}});
  pv.spec.nodeAffinity = corev1::VolumeNodeAffinity{.required = selector};
  pv.status.phase = "Available";
  return pv;
}

corev1::PersistentVolumeClaim claim(const std::string& name, const std::string& volumeName = "") {
  corev1::PersistentVolumeClaim pvc;
  pvc.metadata.name = name;
  pvc.metadata.namespace_ = "default";
  pvc.spec.accessModes = {"ReadWriteOnce"};
  pvc.spec.resources.requests["storage"] = api::Quantity::parse("1Gi");
  pvc.spec.storageClassName = "local";
  pvc.spec.volumeName = volumeName;
  return pvc;
}

corev1::Pod withClaim(const std::string& claimName) {
  auto pod = makePod("p");
  corev1::Volume v;
  v.name = "data";
  v.persistentVolumeClaim = corev1::PersistentVolumeClaimVolumeSource{.claimName = claimName};
  pod.spec.volumes.push_back(v);
  return pod;
}

TEST(VolumeBinding, BoundClaimFollowsItsVolume) {
  FakeVolumes volumes;
  volumes.pvs["pv1"] = std::make_shared<const corev1::PersistentVolume>(localPv("pv1", "n2"));
  volumes.claims["default/data"] =
      std::make_shared<const corev1::PersistentVolumeClaim>(claim("data", "pv1"));
  std::vector<NodeInfo> nodes;
  nodes.push_back(nodeInfo(makeNode("n1")));
  nodes.push_back(nodeInfo(makeNode("n2")));
  const auto pod = withClaim("data");
  const auto state = prepareVolumeBinding(pod, &volumes);
  const Status s = filterVolumeBinding(state, &volumes, nodes[0]);
  EXPECT_EQ(s.code, Code::UnschedulableAndUnresolvable);
  EXPECT_EQ(s.reasons.front(), "node(s) had volume node affinity conflict");
  EXPECT_TRUE(filterVolumeBinding(state, &volumes, nodes[1]).ok());
  Algorithm algorithm(&volumes);
  EXPECT_EQ(algorithm.schedule(info(pod), pointers(nodes)).node, "n2");
}

TEST(VolumeBinding, WaitForFirstConsumerNeedsAnAvailableVolumeOnTheNode) {
  FakeVolumes volumes;
  api::storage::v1::StorageClass sc;
  sc.metadata.name = "local";
  sc.provisioner = "kubernetes.io/no-provisioner";
  sc.volumeBindingMode = "WaitForFirstConsumer";
  volumes.classes["local"] = std::make_shared<const api::storage::v1::StorageClass>(sc);
  volumes.pvs["pv3"] = std::make_shared<const corev1::PersistentVolume>(localPv("pv3", "n3"));
  volumes.claims["default/data"] =
      std::make_shared<const corev1::PersistentVolumeClaim>(claim("data"));
  std::vector<NodeInfo> nodes;
  for (const char* n : {"n1", "n2", "n3"}) nodes.push_back(nodeInfo(makeNode(n)));
  Algorithm algorithm(&volumes);
  const auto result = algorithm.schedule(info(withClaim("data")), pointers(nodes));
  EXPECT_EQ(result.node, "n3");
  EXPECT_EQ(result.volumeChoices,
            (std::vector<ScheduleResult::VolumeChoice>{{"default/data", "pv3"}}));

  // A volume too small does not count.
  auto small = localPv("pv3", "n3");
  small.spec.capacity["storage"] = api::Quantity::parse("500Mi");
  volumes.pvs["pv3"] = std::make_shared<const corev1::PersistentVolume>(small);
  try {
    algorithm.schedule(info(withClaim("data")), pointers(nodes));
    FAIL();
  } catch (const FitError& e) {
    EXPECT_EQ(failedSchedulingMessage(e, info(withClaim("data")), pointers(nodes), &volumes),
              "0/3 nodes are available: 3 node(s) didn't find available persistent volumes to "
              "bind. preemption: 0/3 nodes are available: 3 Preemption is not helpful for "
              "scheduling.");
  }
}

TEST(VolumeBinding, ProvisionableClassNeedsNoVolumeAndHonoursAllowedTopologies) {
  FakeVolumes volumes;
  api::storage::v1::StorageClass sc;
  sc.metadata.name = "local";
  sc.provisioner = "rancher.io/local-path";
  sc.volumeBindingMode = "WaitForFirstConsumer";
  volumes.classes["local"] = std::make_shared<const api::storage::v1::StorageClass>(sc);
  volumes.claims["default/data"] =
      std::make_shared<const corev1::PersistentVolumeClaim>(claim("data"));
  std::vector<NodeInfo> nodes;
  for (const char* n : {"n1", "n2"}) nodes.push_back(nodeInfo(makeNode(n)));
  Algorithm algorithm(&volumes);
  const auto result = algorithm.schedule(info(withClaim("data")), pointers(nodes));
  EXPECT_FALSE(result.node.empty());
  // No volume exists: the claim is to be provisioned on the chosen node.
  EXPECT_EQ(result.volumeChoices,
            (std::vector<ScheduleResult::VolumeChoice>{{"default/data", ""}}));

  // A class limited to n2's hostname sends the pod there.
  sc.allowedTopologies = {
      {.matchLabelExpressions = {{.key = "kubernetes.io/hostname", .values = {"n2"}}}}};
  volumes.classes["local"] = std::make_shared<const api::storage::v1::StorageClass>(sc);
  EXPECT_EQ(algorithm.schedule(info(withClaim("data")), pointers(nodes)).node, "n2");

  // kubernetes.io/no-provisioner provisions nothing.
  sc.allowedTopologies.clear();
  sc.provisioner = "kubernetes.io/no-provisioner";
  volumes.classes["local"] = std::make_shared<const api::storage::v1::StorageClass>(sc);
  EXPECT_THROW(algorithm.schedule(info(withClaim("data")), pointers(nodes)), FitError);
}

TEST(VolumeBinding, MissingClaim) {
  FakeVolumes volumes;
  std::vector<NodeInfo> nodes;
  nodes.push_back(nodeInfo(makeNode("n1")));
  Algorithm algorithm(&volumes);
  try {
    algorithm.schedule(info(withClaim("nope")), pointers(nodes));
    FAIL();
  } catch (const FitError& e) {
    EXPECT_EQ(failedSchedulingMessage(e, info(withClaim("nope")), pointers(nodes), &volumes),
              "0/1 nodes are available: persistentvolumeclaim \"nope\" not found. preemption: "
              "0/1 nodes are available: 1 Preemption is not helpful for scheduling.");
  }
}

}  // namespace
}  // namespace kite::controlplane::scheduler
