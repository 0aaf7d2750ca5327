#include "cluster_volumes.h"

#include <gtest/gtest.h>

namespace kite::controlplane::controllers {
namespace {

namespace corev1 = api::core::v1;

corev1::PersistentVolume volume(const std::string& name, const std::string& size,
                                const std::string& cls = "manual",
                                std::vector<std::string> modes = {"ReadWriteOnce"}) {
  corev1::PersistentVolume v;
  v.metadata.name = name;
  v.spec.capacity["storage"] = api::Quantity::parse(size);
  v.spec.accessModes = std::move(modes);
  v.spec.storageClassName = cls;
  v.status.phase = "Available";
  return v;
}

corev1::PersistentVolumeClaim claim(const std::string& size, const std::string& cls = "manual") {
  corev1::PersistentVolumeClaim c;
  c.metadata.name = "data";
  c.metadata.namespace_ = "ns";
  c.metadata.uid = "uid-1";
  c.spec.resources.requests["storage"] = api::Quantity::parse(size);
  c.spec.accessModes = {"ReadWriteOnce"};
  c.spec.storageClassName = cls;
  return c;
}

corev1::VolumeNodeAffinity onHost(const std::string& host) {
  corev1::NodeSelectorRequirement r;
  r.key = "kubernetes.io/hostname";
  r.operator_ = "In";
  r.values = {host};
  corev1::NodeSelectorTerm term;
  term.matchExpressions = {r};
  corev1::VolumeNodeAffinity a;
  a.required.emplace();
  a.required->nodeSelectorTerms = {term};
  return a;
}

TEST(ClusterVolumes, SmallestFittingVolume) {
  const auto big = volume("big", "10Gi");
  const auto small = volume("small", "2Gi");
  const auto tiny = volume("tiny", "500Mi");
  const auto other = volume("other-class", "1Gi", "fast");
  const auto readOnly = volume("rox", "1Gi", "manual", {"ReadOnlyMany"});
  const auto* got = clusterFindVolumeForClaim(
      claim("1Gi"), {&big, &small, &tiny, &other, &readOnly}, std::nullopt);
  ASSERT_NE(got, nullptr);
  EXPECT_EQ(got->metadata.name, "small");
  EXPECT_EQ(clusterFindVolumeForClaim(claim("20Gi"), {&big, &small}, std::nullopt), nullptr);
}

TEST(ClusterVolumes, BoundAndReleasedVolumesAreNotCandidates) {
  auto taken = volume("taken", "1Gi");
  taken.spec.claimRef.emplace();
  taken.spec.claimRef->namespace_ = "ns";
  taken.spec.claimRef->name = "someone-else";
  auto released = volume("released", "1Gi");
  released.status.phase = "Released";
  EXPECT_EQ(clusterFindVolumeForClaim(claim("1Gi"), {&taken, &released}, std::nullopt), nullptr);
}

TEST(ClusterVolumes, PreBoundVolumeWins) {
  const auto small = volume("small", "1Gi");
  auto mine = volume("mine", "5Gi");
  mine.spec.claimRef.emplace();
  mine.spec.claimRef->namespace_ = "ns";
  mine.spec.claimRef->name = "data";
  const auto* got = clusterFindVolumeForClaim(claim("1Gi"), {&small, &mine}, std::nullopt);
  ASSERT_NE(got, nullptr);
  EXPECT_EQ(got->metadata.name, "mine");
  mine.spec.claimRef->uid = "another-uid";  // a former claim of the same name
  EXPECT_FALSE(clusterVolumeIsBoundTo(mine, claim("1Gi")));
}

TEST(ClusterVolumes, NodeAffinityOfTheSelectedNode) {
  auto onA = volume("on-a", "1Gi");
  onA.spec.nodeAffinity = onHost("node-a");
  auto onB = volume("on-b", "2Gi");
  onB.spec.nodeAffinity = onHost("node-b");
  const ClusterVolumeNode nodeB{"node-b", {{"kubernetes.io/hostname", "node-b"}}};
  const auto* got = clusterFindVolumeForClaim(claim("1Gi"), {&onA, &onB}, nodeB);
  ASSERT_NE(got, nullptr);
  EXPECT_EQ(got->metadata.name, "on-b");
  const ClusterVolumeNode nodeC{"node-c", {{"kubernetes.io/hostname", "node-c"}}};
  EXPECT_EQ(clusterFindVolumeForClaim(claim("1Gi"), {&onA, &onB}, nodeC), nullptr);
}

TEST(ClusterVolumes, NodeSelectorOperators) {
  const ClusterVolumeNode node{"n1", {{"zone", "a"}, {"disks", "4"}}};
  corev1::NodeSelector s;
  corev1::NodeSelectorTerm t;
  t.matchExpressions = {
      {"zone", "NotIn", {"b"}}, {"disks", "Gt", {"2"}}, {"gpu", "DoesNotExist", {}}};
  t.matchFields = {{"metadata.name", "In", {"n1"}}};
  s.nodeSelectorTerms = {t};
  EXPECT_TRUE(clusterNodeSelectorMatches(s, node));
  s.nodeSelectorTerms[0].matchExpressions[1].values = {"8"};
  EXPECT_FALSE(clusterNodeSelectorMatches(s, node));
  s.nodeSelectorTerms = {corev1::NodeSelectorTerm{}};  // an empty term matches nothing
  EXPECT_FALSE(clusterNodeSelectorMatches(s, node));
}

}  // namespace
}  // namespace kite::controlplane::controllers
