#include "local_path_helper.h"

#include <gtest/gtest.h>

namespace kite::controlplane::controllers {
namespace {

namespace corev1 = api::core::v1;

corev1::PersistentVolume localPathVolume(const std::string& path, const std::string& host) {
  corev1::PersistentVolume v;
  v.metadata.name = "pvc-1234";
  v.spec.hostPath.emplace();
  v.spec.hostPath->path = path;
  corev1::NodeSelectorRequirement onHost;
  onHost.key = "kubernetes.io/hostname";
  onHost.operator_ = "In";
  onHost.values = {host};
  corev1::NodeSelectorTerm term;
  term.matchExpressions = {onHost};
  v.spec.nodeAffinity.emplace();
  v.spec.nodeAffinity->required.emplace();
  v.spec.nodeAffinity->required->nodeSelectorTerms = {term};
  return v;
}

TEST(LocalPathHelper, PodRemovesTheVolumeDirectoryOnItsNode) {
  const auto volume = localPathVolume("/var/lib/kite/storage/pvc-1234_default_data", "host-a");
  EXPECT_EQ(localPathVolumeHostname(volume), "host-a");
  const auto pod = localPathDeletePod(volume, "node-a", "busybox:1.35");
  ASSERT_TRUE(pod);
  EXPECT_EQ(pod->metadata.name, "helper-pod-delete-pvc-1234");
  EXPECT_EQ(pod->metadata.namespace_, "kube-system");
  EXPECT_EQ(pod->metadata.labels.at(kLocalPathHelperLabel), "delete");
  EXPECT_EQ(pod->spec.nodeName, "node-a");
  EXPECT_EQ(pod->spec.restartPolicy, "Never");
  ASSERT_EQ(pod->spec.tolerations.size(), 1U);
  EXPECT_EQ(pod->spec.tolerations[0].operator_, "Exists");
  ASSERT_EQ(pod->spec.volumes.size(), 1U);
  ASSERT_TRUE(pod->spec.volumes[0].hostPath);
  EXPECT_EQ(pod->spec.volumes[0].hostPath->path, "/var/lib/kite/storage");
  ASSERT_EQ(pod->spec.containers.size(), 1U);
  EXPECT_EQ(pod->spec.containers[0].image, "busybox:1.35");
  EXPECT_EQ(pod->spec.containers[0].command,
            (std::vector<std::string>{"rm", "-rf", "/data/pvc-1234_default_data"}));
  EXPECT_EQ(pod->spec.containers[0].volumeMounts[0].mountPath, "/data");
}

TEST(LocalPathHelper, RefusesPathsTheProvisionerCouldNotHaveMade) {
  for (const char* path : {"/", "/pvc-1", "relative/pvc-1", "/var/lib/kite/storage/../pvc-1",
                           "/var/lib/kite/storage/data", "/var/lib/kite/storage/pvc-1/",
                           "/var/lib/kite//storage/pvc-1"}) {
    EXPECT_FALSE(localPathDeletePod(localPathVolume(path, "h"), "n", "img")) << path;
  }
  auto noHostPath = localPathVolume("/x/pvc-1", "h");
  noHostPath.spec.hostPath.reset();
  EXPECT_FALSE(localPathDeletePod(noHostPath, "n", "img"));
}

TEST(LocalPathHelper, NoHostnameWithoutNodeAffinity) {
  corev1::PersistentVolume v;
  EXPECT_EQ(localPathVolumeHostname(v), "");
}

}  // namespace
}  // namespace kite::controlplane::controllers
