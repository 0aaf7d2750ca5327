// The scheduler against a real `kite server` (scheduler and controllers of the server off):
// Nodes made by the test, no agents. Pods get bound to the node that fits, selectors, taints
// and resources are respected, an unschedulable pod is reported (PodScheduled=False,
// FailedScheduling) and placed once a fitting node appears, replicas spread.
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <set>
#include <thread>

#include "kite/api/coordination/v1/types.h"
#include "kite/api/meta.h"
#include "kite/api/storage/v1/types.h"
#include "kite/client/client.h"
#include "kite/controlplane/scheduler.h"
#include "objects.h"
#include "scheduler_server_fixture.h"

namespace kite::controlplane {
namespace {

namespace corev1 = api::core::v1;
using schedtest::eventually;
using schedtest::SchedulerServerTest;
using scheduler::testing::makeNode;
using scheduler::testing::makePod;
using namespace std::chrono_literals;

TEST_F(SchedulerServerTest, BindsPodsWhereResourcesSelectorsAndTaintsAllow) {
  createNode(makeNode("small", "1", "2Gi"));
  createNode(makeNode("big", "4", "8Gi"));
  auto tainted = makeNode("tainted", "16", "32Gi");
  tainted.spec.taints.push_back({.key = "dedicated", .value = "gpu", .effect = "NoSchedule"});
  createNode(tainted);
  auto ssd = makeNode("ssd", "2", "4Gi");
  ssd.metadata.labels["disk"] = "ssd";
  createNode(ssd);
  startScheduler(true);

  createPod(makePod("needs-3-cpus", "3", "1Gi"));
  auto onSsd = makePod("wants-ssd");
  onSsd.spec.nodeSelector["disk"] = "ssd";
  createPod(onSsd);
  auto gpu = makePod("gpu-job", "8", "");
  gpu.spec.tolerations.push_back(
      {.key = "dedicated", .operator_ = "Equal", .value = "gpu", .effect = "NoSchedule"});
  createPod(gpu);
  auto other = makePod("other-scheduler");
  other.spec.schedulerName = "someone-else";
  createPod(other);

  EXPECT_EQ(waitForNode("needs-3-cpus"), "big");
  EXPECT_EQ(waitForNode("wants-ssd"), "ssd");
  EXPECT_EQ(waitForNode("gpu-job"), "tainted");
  std::vector<corev1::Event> events;
  ASSERT_TRUE(
      eventually([&] { return !(events = eventsOf("needs-3-cpus", "Scheduled")).empty(); }));
  EXPECT_EQ(events[0].message, "Successfully assigned default/needs-3-cpus to big");
  EXPECT_EQ(events[0].type, "Normal");
  EXPECT_EQ(events[0].source.component, "default-scheduler");
  EXPECT_EQ(events[0].reportingComponent, "default-scheduler");
  const auto pod = client_->get<corev1::Pod>("default", "needs-3-cpus");
  const auto* scheduled = api::findCondition(pod.status.conditions, "PodScheduled");
  ASSERT_NE(scheduled, nullptr);
  EXPECT_EQ(scheduled->status, "True");
  // Not ours: left alone.
  EXPECT_EQ(nodeOf("other-scheduler"), "");
  // It led through the Lease upstream's scheduler uses.
  const auto lease = client_->get<api::coordination::v1::Lease>("kube-system", "kube-scheduler");
  EXPECT_FALSE(lease.spec.holderIdentity.value_or("").empty());
}

TEST_F(SchedulerServerTest, UnschedulablePodIsReportedAndPlacedWhenANodeFits) {
  createNode(makeNode("worker", "2", "4Gi"));
  auto cp = makeNode("control-plane", "8", "8Gi");
  cp.spec.taints.push_back(
      {.key = "node-role.kubernetes.io/control-plane", .effect = "NoSchedule"});
  createNode(cp);
  startScheduler();
  createPod(makePod("hungry", "6", "1Gi"));

  const std::string expected =
      "0/2 nodes are available: 1 Insufficient cpu, 1 node(s) had untolerated taint "
      "{node-role.kubernetes.io/control-plane: }. preemption: 0/2 nodes are available: 1 No "
      "preemption victims found for incoming pod, 1 Preemption is not helpful for scheduling.";
  std::vector<corev1::Event> events;
  ASSERT_TRUE(
      eventually([&] { return !(events = eventsOf("hungry", "FailedScheduling")).empty(); }));
  EXPECT_EQ(events[0].type, "Warning");
  EXPECT_EQ(events[0].message, expected);
  corev1::PodCondition condition;
  ASSERT_TRUE(eventually([&] {
    const auto pod = client_->get<corev1::Pod>("default", "hungry");
    const auto* c = api::findCondition(pod.status.conditions, "PodScheduled");
    if (c == nullptr) return false;
    condition = *c;
    return true;
  }));
  EXPECT_EQ(condition.status, "False");
  EXPECT_EQ(condition.reason, "Unschedulable");
  EXPECT_EQ(condition.message, expected);
  EXPECT_EQ(nodeOf("hungry"), "");

  createNode(makeNode("roomy", "8", "16Gi"));
  EXPECT_EQ(waitForNode("hungry"), "roomy");
}

TEST_F(SchedulerServerTest, ReplicasOfOneControllerSpreadOverNodes) {
  for (const char* n : {"a", "b", "c"}) createNode(makeNode(n));
  startScheduler();
  for (int i = 0; i < 3; ++i) {
    auto pod = makePod("web-" + std::to_string(i), "100m", "128Mi");
    pod.metadata.labels["app"] = "web";
    pod.metadata.ownerReferences.push_back({.apiVersion = "apps/v1",
                                            .kind = "ReplicaSet",
                                            .name = "web",
                                            .uid = "7b0ad2c4-0d7e-4a4e-9d55-3a6b0f2a1c11",
                                            .controller = true});
    createPod(pod);
  }
  std::set<std::string> nodes;
  for (int i = 0; i < 3; ++i) nodes.insert(waitForNode("web-" + std::to_string(i)));
  EXPECT_EQ(nodes, (std::set<std::string>{"a", "b", "c"}));
}

TEST_F(SchedulerServerTest, HostPortsConflict) {
  createNode(makeNode("one"));
  createNode(makeNode("two"));
  startScheduler();
  for (int i = 0; i < 3; ++i) {
    auto pod = makePod("port-" + std::to_string(i));
    pod.spec.containers[0].ports.push_back({.hostPort = 8080, .containerPort = 80});
    createPod(pod);
  }
  std::set<std::string> placed;
  ASSERT_TRUE(eventually([&] {
    placed.clear();
    for (int i = 0; i < 3; ++i) {
      const auto node = nodeOf("port-" + std::to_string(i));
      if (!node.empty()) placed.insert("port-" + std::to_string(i) + "@" + node);
    }
    return placed.size() == 2;
  }));
  std::this_thread::sleep_for(300ms);
  int bound = 0;
  for (int i = 0; i < 3; ++i) bound += nodeOf("port-" + std::to_string(i)).empty() ? 0 : 1;
  EXPECT_EQ(bound, 2);
}

TEST_F(SchedulerServerTest, OnlyTheLeaseHolderSchedulesAndAnotherTakesOver) {
  createNode(makeNode("only"));
  Scheduler first(*client_, {.identity = "first", .podInitialBackoff = 100ms});
  first.start();
  ASSERT_TRUE(eventually([&] { return first.isLeader(); }));
  Scheduler second(*client_, {.identity = "second", .podInitialBackoff = 100ms});
  second.start();
  createPod(makePod("while-first-leads"));
  EXPECT_EQ(waitForNode("while-first-leads"), "only");
  EXPECT_FALSE(second.isLeader());
  EXPECT_EQ(second.scheduledCount(), 0U);
  EXPECT_TRUE(eventually([&] { return first.scheduledCount() == 1U; }));

  // The leader gives the Lease up on stop; the other candidate takes over and schedules.
  first.stop();
  ASSERT_TRUE(eventually([&] { return second.isLeader(); }));
  createPod(makePod("after-takeover"));
  EXPECT_EQ(waitForNode("after-takeover"), "only");
  EXPECT_TRUE(eventually([&] { return second.scheduledCount() == 1U; }));
  const auto lease = client_->get<api::coordination::v1::Lease>("kube-system", "kube-scheduler");
  EXPECT_EQ(lease.spec.holderIdentity.value_or(""), "second");
  second.stop();
}

corev1::PersistentVolume localVolume(const std::string& name, const std::string& node) {
  corev1::PersistentVolume pv;
  pv.metadata.name = name;
  pv.spec.local = corev1::LocalVolumeSource{.path = "/mnt/disks/" + name};
  pv.spec.capacity["storage"] = api::Quantity::parse("5Gi");
  pv.spec.accessModes = {"ReadWriteOnce"};
  pv.spec.storageClassName = "local-storage";
  pv.spec.persistentVolumeReclaimPolicy = "Retain";
  corev1::NodeSelector selector;
  selector.nodeSelectorTerms.push_back(
      {.matchExpressions = {
           {.key = "kubernetes.io/hostname", .operator_ = "In", .values = {node}}}});
  pv.spec.nodeAffinity = corev1::VolumeNodeAffinity{.required = selector};
  return pv;
}

corev1::PersistentVolumeClaim localClaim(const std::string& name) {
  corev1::PersistentVolumeClaim pvc;
  pvc.metadata.name = name;
  pvc.metadata.namespace_ = "default";
  pvc.spec.accessModes = {"ReadWriteOnce"};
  pvc.spec.storageClassName = "local-storage";
  pvc.spec.resources.requests["storage"] = api::Quantity::parse("1Gi");
  return pvc;
}

corev1::Pod podWithClaim(const std::string& name, const std::string& claim) {
  auto pod = makePod(name);
  corev1::Volume v;
  v.name = "data";
  v.persistentVolumeClaim = corev1::PersistentVolumeClaimVolumeSource{.claimName = claim};
  pod.spec.volumes.push_back(v);
  return pod;
}

TEST_F(SchedulerServerTest, LocalVolumesPinPodsToTheirNodes) {
  for (const char* n : {"n1", "n2", "n3"}) createNode(makeNode(n));
  api::storage::v1::StorageClass sc;
  sc.metadata.name = "local-storage";
  sc.provisioner = "kubernetes.io/no-provisioner";
  sc.volumeBindingMode = "WaitForFirstConsumer";
  client_->create(sc);
  client_->create(localVolume("pv-on-n2", "n2"));
  client_->create(localClaim("delayed"));
  startScheduler();

  // Unbound claim of a WaitForFirstConsumer class: the node with an available volume, and the
  // claim learns the node.
  createPod(podWithClaim("uses-delayed", "delayed"));
  EXPECT_EQ(waitForNode("uses-delayed"), "n2");
  const auto pvc = client_->get<corev1::PersistentVolumeClaim>("default", "delayed");
  EXPECT_EQ(pvc.metadata.annotations.at("volume.kubernetes.io/selected-node"), "n2");
  // The volume is pre-bound to the claim, as upstream's scheduler does.
  const auto pv = client_->get<corev1::PersistentVolume>("", "pv-on-n2");
  ASSERT_TRUE(pv.spec.claimRef.has_value());
  EXPECT_EQ(pv.spec.claimRef->name, "delayed");
  EXPECT_EQ(pv.spec.claimRef->uid, pvc.metadata.uid);

  // A claim bound to a volume on n3: only n3 will do.
  auto bound = localClaim("bound");
  bound.spec.volumeName = "pv-on-n3";
  bound = client_->create(bound);
  auto onN3 = localVolume("pv-on-n3", "n3");
  onN3.spec.claimRef = corev1::ObjectReference{.kind = "PersistentVolumeClaim",
                                               .namespace_ = "default",
                                               .name = "bound",
                                               .uid = bound.metadata.uid};
  client_->create(onN3);
  createPod(podWithClaim("uses-bound", "bound"));
  EXPECT_EQ(waitForNode("uses-bound"), "n3");

  // No volume anywhere: upstream's reason.
  client_->create(localClaim("nothing-left"));
  createPod(podWithClaim("uses-nothing", "nothing-left"));
  std::vector<corev1::Event> events;
  ASSERT_TRUE(
      eventually([&] { return !(events = eventsOf("uses-nothing", "FailedScheduling")).empty(); }));
  EXPECT_NE(events[0].message.find("node(s) didn't find available persistent volumes to bind"),
            std::string::npos)
      << events[0].message;
}

}  // namespace
}  // namespace kite::controlplane
