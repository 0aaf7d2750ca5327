// The persistentvolume-binder against a real `kite server` (cluster_server_fixture.h): the
// StorageClasses, static binding and reclaim, WaitForFirstConsumer and the local-path
// provisioner with its helper pod.

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "cluster_server_fixture.h"

namespace kite::controlplane::controllers {
namespace {

using namespace cluster_test;  // NOLINT(google-build-using-namespace): the fixture's helpers

corev1::PersistentVolume hostPathVolume(const std::string& name, const std::string& size,
                                        const std::string& cls, const std::string& reclaim) {
  corev1::PersistentVolume v;
  v.metadata.name = name;
  v.spec.capacity["storage"] = api::Quantity::parse(size);
  v.spec.accessModes = {"ReadWriteOnce"};
  v.spec.storageClassName = cls;
  v.spec.persistentVolumeReclaimPolicy = reclaim;
  corev1::HostPathVolumeSource hp;
  hp.path = "/tmp/kite-test-unused/" + name;
  v.spec.hostPath = hp;
  return v;
}

corev1::PersistentVolumeClaim claimFor(const std::string& ns, const std::string& name,
                                       const std::string& size, std::optional<std::string> cls) {
  corev1::PersistentVolumeClaim c;
  c.metadata.name = name;
  c.metadata.namespace_ = ns;
  c.spec.accessModes = {"ReadWriteOnce"};
  c.spec.resources.requests["storage"] = api::Quantity::parse(size);
  c.spec.storageClassName = std::move(cls);
  return c;
}

bool claimBoundTo(client::Client& cl, const std::string& ns, const std::string& name,
                  const std::string& volume) {
  const auto c = cl.get<corev1::PersistentVolumeClaim>(ns, name);
  const auto v = cl.get<corev1::PersistentVolume>("", volume);
  return c.status.phase == "Bound" && c.spec.volumeName == volume &&
         c.metadata.annotations.at("pv.kubernetes.io/bind-completed") == "yes" &&
         v.status.phase == "Bound" && v.spec.claimRef && v.spec.claimRef->name == name &&
         v.spec.claimRef->uid == c.metadata.uid;
}

std::string phaseOf(client::Client& cl, const std::string& volume) {
  return cl.get<corev1::PersistentVolume>("", volume).status.phase;
}

TEST_F(ClusterControllersTest, StorageClassesExist) {
  EXPECT_TRUE(eventually([] {
    const auto lp = client_->get<storagev1::StorageClass>("", "local-path");
    const auto ls = client_->get<storagev1::StorageClass>("", "local-storage");
    return lp.provisioner == "rancher.io/local-path" &&
           lp.metadata.annotations.at("storageclass.kubernetes.io/is-default-class") == "true" &&
           lp.volumeBindingMode == "WaitForFirstConsumer" && lp.reclaimPolicy == "Delete" &&
           ls.provisioner == "kubernetes.io/no-provisioner" &&
           ls.volumeBindingMode == "WaitForFirstConsumer";
  }));
}

TEST_F(ClusterControllersTest, StaticBindingByVolumeNameAndReclaim) {
  const std::string ns = "pv-static";
  createNamespace(ns);
  client_->create(hostPathVolume("pv-retain", "1Gi", "manual", "Retain"));
  client_->create(hostPathVolume("pv-delete", "1Gi", "manual", "Delete"));
  client_->create(hostPathVolume("pv-small", "1Gi", "manual", "Retain"));
  client_->create(hostPathVolume("pv-large", "5Gi", "manual", "Retain"));
  EXPECT_TRUE(eventually([] { return phaseOf(*client_, "pv-retain") == "Available"; }));

  auto byName = claimFor(ns, "by-name", "1Gi", "manual");
  byName.spec.volumeName = "pv-retain";
  client_->create(byName);
  EXPECT_TRUE(eventually([&] { return claimBoundTo(*client_, ns, "by-name", "pv-retain"); }));

  // By class and size: the smallest that fits.
  client_->create(claimFor(ns, "by-size", "512Mi", "manual"));
  std::string chosen;
  EXPECT_TRUE(eventually([&] {
    const auto c = client_->get<corev1::PersistentVolumeClaim>(ns, "by-size");
    chosen = c.spec.volumeName;
    return c.status.phase == "Bound" &&
           c.metadata.annotations.at("pv.kubernetes.io/bound-by-controller") == "yes";
  }));
  EXPECT_TRUE(chosen == "pv-small" || chosen == "pv-delete") << chosen;

  // Claims go: Retain leaves the volume Released, Delete deletes it.
  auto byDelete = claimFor(ns, "to-delete", "1Gi", "manual");
  byDelete.spec.volumeName = chosen == "pv-delete" ? "pv-small" : "pv-delete";
  client_->create(byDelete);
  EXPECT_TRUE(eventually(
      [&] { return claimBoundTo(*client_, ns, "to-delete", byDelete.spec.volumeName); }));
  client_->remove<corev1::PersistentVolumeClaim>(ns, "by-name");
  client_->remove<corev1::PersistentVolumeClaim>(ns, "to-delete");
  client_->remove<corev1::PersistentVolumeClaim>(ns, "by-size");
  EXPECT_TRUE(eventually([] { return phaseOf(*client_, "pv-retain") == "Released"; }));
  EXPECT_TRUE(eventually([] {
    try {
      client_->get<corev1::PersistentVolume>("", "pv-delete");
      return false;
    } catch (const client::ApiError& e) {
      return e.isNotFound();
    }
  }));
  EXPECT_TRUE(eventually([] { return phaseOf(*client_, "pv-large") == "Available"; }));
}

TEST_F(ClusterControllersTest, WaitForFirstConsumerBindsAfterSelectedNode) {
  const std::string ns = "pv-wffc";
  createNamespace(ns);
  for (const char* host : {"wffc-a", "wffc-b"}) {
    auto v = hostPathVolume(std::string("local-") + host, "1Gi", "local-storage", "Retain");
    corev1::NodeSelectorRequirement r;
    r.key = "kubernetes.io/hostname";
    r.operator_ = "In";
    r.values = {host};
    corev1::NodeSelectorTerm term;
    term.matchExpressions = {r};
    v.spec.nodeAffinity.emplace();
    v.spec.nodeAffinity->required.emplace();
    v.spec.nodeAffinity->required->nodeSelectorTerms = {term};
    client_->create(v);
  }
  createReadyNode(*client_, "wffc-b");
  EXPECT_TRUE(eventually([] {
    return !client_->get<storagev1::StorageClass>("", "local-storage").provisioner.empty();
  }));
  client_->create(claimFor(ns, "data", "1Gi", "local-storage"));
  EXPECT_TRUE(eventually([&] {
    return client_->get<corev1::PersistentVolumeClaim>(ns, "data").status.phase == "Pending";
  }));
  EXPECT_TRUE(eventually([&] { return hasEvent(*client_, ns, "data", "WaitForFirstConsumer"); }));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_TRUE(client_->get<corev1::PersistentVolumeClaim>(ns, "data").spec.volumeName.empty());

  // The scheduler picks wffc-b.
  client_->patch<corev1::PersistentVolumeClaim>(
      ns, "data", client::PatchType::Merge,
      R"({"metadata":{"annotations":{"volume.kubernetes.io/selected-node":"wffc-b"}}})");
  EXPECT_TRUE(eventually([&] { return claimBoundTo(*client_, ns, "data", "local-wffc-b"); }));
  EXPECT_EQ(phaseOf(*client_, "local-wffc-a"), "Available");
}

TEST_F(ClusterControllersTest, LocalPathProvisioning) {
  const std::string ns = "pv-local-path";
  createNamespace(ns);
  createReadyNode(*client_, "lp-node");
  // No class: the default one (local-path) is filled in.
  client_->create(claimFor(ns, "data", "2Gi", std::nullopt));
  EXPECT_TRUE(eventually([&] {
    return client_->get<corev1::PersistentVolumeClaim>(ns, "data").spec.storageClassName ==
           "local-path";
  }));
  client_->patch<corev1::PersistentVolumeClaim>(
      ns, "data", client::PatchType::Merge,
      R"({"metadata":{"annotations":{"volume.kubernetes.io/selected-node":"lp-node"}}})");
  const auto uid = client_->get<corev1::PersistentVolumeClaim>(ns, "data").metadata.uid;
  const std::string pvName = "pvc-" + uid;
  EXPECT_TRUE(eventually([&] { return claimBoundTo(*client_, ns, "data", pvName); }));
  const auto pv = client_->get<corev1::PersistentVolume>("", pvName);
  EXPECT_TRUE(eventually([&] { return hasEvent(*client_, ns, "data", "ProvisioningSucceeded"); }));
  ASSERT_TRUE(pv.spec.hostPath);
  EXPECT_EQ(pv.spec.hostPath->path, "/var/lib/kite-test/storage/pvc-" + uid + "_" + ns + "_data");
  EXPECT_EQ(pv.spec.hostPath->type, "DirectoryOrCreate");
  EXPECT_EQ(pv.spec.storageClassName, "local-path");
  EXPECT_EQ(pv.spec.persistentVolumeReclaimPolicy, "Delete");
  EXPECT_EQ(pv.spec.capacity.at("storage"), api::Quantity::parse("2Gi"));
  EXPECT_EQ(pv.metadata.annotations.at("pv.kubernetes.io/provisioned-by"), "rancher.io/local-path");
  ASSERT_TRUE(pv.spec.nodeAffinity && pv.spec.nodeAffinity->required);
  EXPECT_EQ(pv.spec.nodeAffinity->required->nodeSelectorTerms[0].matchExpressions[0].values[0],
            "lp-node");
  // The claim goes: reclaim policy Delete first removes the data on the node through a helper
  // pod pinned there (no kubelet runs here: the test reports the pod's success), then the
  // volume and the helper pod.
  client_->remove<corev1::PersistentVolumeClaim>(ns, "data");
  const std::string helperName = "helper-pod-delete-" + pvName;
  std::optional<corev1::Pod> helper;
  EXPECT_TRUE(eventually([&] {
    try {
      helper = client_->get<corev1::Pod>("kube-system", helperName);
      return true;
    } catch (const client::ApiError&) {
      return false;
    }
  }));
  ASSERT_TRUE(helper);
  EXPECT_EQ(helper->spec.nodeName, "lp-node");
  EXPECT_EQ(helper->spec.containers[0].command,
            (std::vector<std::string>{"rm", "-rf", "/data/pvc-" + uid + "_" + ns + "_data"}));
  EXPECT_EQ(helper->spec.volumes[0].hostPath->path, "/var/lib/kite-test/storage");
  EXPECT_NO_THROW(client_->get<corev1::PersistentVolume>("", pvName));  // data not gone yet
  helper->status.phase = "Succeeded";
  client_->updateStatus(*helper);
  EXPECT_TRUE(eventually([&] {
    try {
      client_->get<corev1::Pod>("kube-system", helperName);
      return false;
    } catch (const client::ApiError& e) {
      return e.isNotFound();
    }
  }));
  EXPECT_TRUE(eventually([&] {
    try {
      client_->get<corev1::PersistentVolume>("", pvName);
      return false;
    } catch (const client::ApiError& e) {
      return e.isNotFound();
    }
  }));
}

}  // namespace
}  // namespace kite::controlplane::controllers
