// Node status and Lease logic without an API server: labels, capacity, conditions and their
// transition times, change detection, and the Lease the node writes.

#include <gtest/gtest.h>

#include <chrono>

#include "fakes/fake_clock.h"
#include "kite/kubelet/node_lease.h"
#include "kite/kubelet/node_status.h"

namespace kite::kubelet {
namespace {

MachineSnapshot healthyMachine() {
  MachineSnapshot m;
  m.milliCpu = 2000;
  m.memoryCapacityBytes = 4LL * 1024 * 1024 * 1024;
  m.memoryAvailableBytes = 2LL * 1024 * 1024 * 1024;
  m.nodefsCapacityBytes = 100LL * 1024 * 1024 * 1024;
  m.nodefsAvailableBytes = 50LL * 1024 * 1024 * 1024;
  m.pidMax = 4194304;
  m.pidsInUse = 300;
  m.internalIP = "10.0.0.5";
  m.kernelVersion = "6.1.0";
  m.osImage = "Debian GNU/Linux 12 (bookworm)";
  m.architecture = "amd64";
  m.machineID = "abc";
  m.bootID = "def";
  return m;
}

NodeStatusOptions options() {
  NodeStatusOptions o;
  o.nodeName = "n1";
  o.hostname = "host1";
  return o;
}

const api::core::v1::NodeCondition& cond(const api::core::v1::NodeStatus& s,
                                         const std::string& type) {
  for (const auto& c : s.conditions) {
    if (c.type == type) return c;
  }
  throw std::runtime_error("no condition " + type);
}

TEST(NodeStatus, ParsesMachineFacts) {
  EXPECT_EQ(goArch("x86_64"), "amd64");
  EXPECT_EQ(goArch("aarch64"), "arm64");
  EXPECT_EQ(prettyName("NAME=x\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\n"),
            "Debian GNU/Linux 12 (bookworm)");
  EXPECT_EQ(prettyName("NAME=x\n"), "");
  EXPECT_EQ(memAvailableFromMeminfo("MemTotal: 100 kB\nMemFree: 10 kB\nMemAvailable: 50 kB\n"),
            50 * 1024);
  EXPECT_EQ(memAvailableFromMeminfo("MemTotal: 100 kB\nMemFree: 10 kB\n"), 10 * 1024);
}

TEST(NodeStatus, NewNodeHasLabelsCapacityAddressesAndInfo) {
  const api::Time now(std::chrono::system_clock::now());
  const auto node = newNode(options(), healthyMachine(), now);
  EXPECT_EQ(node.metadata.name, "n1");
  EXPECT_EQ(node.metadata.labels.at("kubernetes.io/hostname"), "host1");
  EXPECT_EQ(node.metadata.labels.at("kubernetes.io/os"), "linux");
  EXPECT_EQ(node.metadata.labels.at("kubernetes.io/arch"), "amd64");
  const auto& s = node.status;
  EXPECT_EQ(s.capacity.at("cpu").toString(), "2");
  EXPECT_EQ(s.capacity.at("memory").toString(), "4Gi");
  EXPECT_EQ(s.capacity.at("pods").toString(), "110");
  EXPECT_EQ(s.capacity.at("ephemeral-storage").toString(), "100Gi");
  EXPECT_EQ(s.allocatable, s.capacity);
  ASSERT_EQ(s.addresses.size(), 2U);
  EXPECT_EQ(s.addresses[0].type, "InternalIP");
  EXPECT_EQ(s.addresses[0].address, "10.0.0.5");
  EXPECT_EQ(s.addresses[1].type, "Hostname");
  EXPECT_EQ(s.addresses[1].address, "host1");
  EXPECT_EQ(s.daemonEndpoints.kubeletEndpoint.Port, 10250);
  EXPECT_EQ(s.nodeInfo.kubeletVersion, "v1.32.0-kite");
  EXPECT_EQ(s.nodeInfo.kernelVersion, "6.1.0");
  EXPECT_EQ(s.nodeInfo.osImage, "Debian GNU/Linux 12 (bookworm)");
  EXPECT_EQ(s.nodeInfo.operatingSystem, "linux");
  EXPECT_EQ(s.nodeInfo.architecture, "amd64");
  EXPECT_EQ(s.nodeInfo.machineID, "abc");
  EXPECT_EQ(s.nodeInfo.bootID, "def");
  EXPECT_EQ(s.nodeInfo.containerRuntimeVersion, "");
  EXPECT_EQ(cond(s, "Ready").status, "True");
  EXPECT_EQ(cond(s, "Ready").reason, "KubeletReady");
  EXPECT_EQ(cond(s, "Ready").message, "kubelet is posting ready status");
  EXPECT_EQ(cond(s, "MemoryPressure").status, "False");
  EXPECT_EQ(cond(s, "MemoryPressure").reason, "KubeletHasSufficientMemory");
  EXPECT_EQ(cond(s, "DiskPressure").reason, "KubeletHasNoDiskPressure");
  EXPECT_EQ(cond(s, "PIDPressure").reason, "KubeletHasSufficientPID");
  EXPECT_EQ(cond(s, "Ready").lastHeartbeatTime, now);
  EXPECT_EQ(cond(s, "Ready").lastTransitionTime, now);
}

TEST(NodeStatus, PressureFromHardThresholds) {
  auto m = healthyMachine();
  m.memoryAvailableBytes = 50LL * 1024 * 1024;
  m.nodefsAvailableBytes = m.nodefsCapacityBytes / 20;
  m.pidsInUse = m.pidMax - 10;
  const auto s = computeStatus(options(), m, {}, api::Time::now());
  EXPECT_EQ(cond(s, "MemoryPressure").status, "True");
  EXPECT_EQ(cond(s, "DiskPressure").status, "True");
  EXPECT_EQ(cond(s, "PIDPressure").status, "True");
}

TEST(NodeStatus, ReadyFollowsTheRuntime) {
  auto m = healthyMachine();
  auto s = computeStatus(options(), m, {}, api::Time::now());
  EXPECT_EQ(cond(s, "Ready").status, "True");
  EXPECT_EQ(cond(s, "Ready").reason, "KubeletReady");
  m.notReadyMessage = "container runtime is down";
  s = computeStatus(options(), m, s, api::Time::now());
  EXPECT_EQ(cond(s, "Ready").status, "False");
  EXPECT_EQ(cond(s, "Ready").reason, "KubeletNotReady");
  EXPECT_EQ(cond(s, "Ready").message, "container runtime is down");
}

TEST(NodeStatus, TransitionTimeKeptUntilStatusChanges) {
  testing::FakeClock clock;
  const api::Time t0(clock.wallNow());
  const auto first = computeStatus(options(), healthyMachine(), {}, t0);
  clock.advance(std::chrono::seconds(30));
  const api::Time t1(clock.wallNow());
  const auto second = computeStatus(options(), healthyMachine(), first, t1);
  EXPECT_EQ(cond(second, "MemoryPressure").lastTransitionTime, t0);
  EXPECT_EQ(cond(second, "MemoryPressure").lastHeartbeatTime, t1);
  // Only heartbeats moved: nothing to write before the report frequency.
  EXPECT_TRUE(sameStatusIgnoringHeartbeat(first, second));

  auto low = healthyMachine();
  low.memoryAvailableBytes = 1;
  clock.advance(std::chrono::seconds(30));
  const api::Time t2(clock.wallNow());
  const auto third = computeStatus(options(), low, second, t2);
  EXPECT_EQ(cond(third, "MemoryPressure").lastTransitionTime, t2);
  EXPECT_EQ(cond(third, "DiskPressure").lastTransitionTime, t0);
  EXPECT_FALSE(sameStatusIgnoringHeartbeat(second, third));
}

TEST(NodeStatus, AdoptedNodeKeepsOtherLabels) {
  api::core::v1::Node node;
  node.metadata.labels["team"] = "a";
  node.metadata.labels["kubernetes.io/os"] = "linux";
  EXPECT_TRUE(reconcileLabels(node, options(), healthyMachine()));
  EXPECT_EQ(node.metadata.labels.at("team"), "a");
  EXPECT_EQ(node.metadata.labels.at("kubernetes.io/arch"), "amd64");
  EXPECT_FALSE(reconcileLabels(node, options(), healthyMachine()));
}

TEST(NodeLease, DesiredLeaseHoldsAndIsOwnedByTheNode) {
  testing::FakeClock clock;
  NodeLeaseOptions o;
  o.nodeName = "n1";
  o.nodeUID = "uid-1";
  api::coordination::v1::Lease existing;
  existing.metadata.resourceVersion = "7";
  const api::Time now(clock.wallNow());
  const auto lease = desiredLease(o, existing, now);
  EXPECT_EQ(lease.metadata.name, "n1");
  EXPECT_EQ(lease.metadata.namespace_, "kube-node-lease");
  EXPECT_EQ(lease.metadata.resourceVersion, "7");
  EXPECT_EQ(lease.spec.holderIdentity, "n1");
  EXPECT_EQ(lease.spec.leaseDurationSeconds, 40);
  EXPECT_EQ(lease.spec.renewTime, now);
  ASSERT_EQ(lease.metadata.ownerReferences.size(), 1U);
  EXPECT_EQ(lease.metadata.ownerReferences[0].kind, "Node");
  EXPECT_EQ(lease.metadata.ownerReferences[0].apiVersion, "v1");
  EXPECT_EQ(lease.metadata.ownerReferences[0].name, "n1");
  EXPECT_EQ(lease.metadata.ownerReferences[0].uid, "uid-1");
}

}  // namespace
}  // namespace kite::kubelet
