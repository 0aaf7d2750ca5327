#pragma once
// A PodSyncer over the fake runtime, its volumes and pod cgroups under a temp dir: what the
// kubelet tests that drive pods without containerd build first. Inherit it beside
// ::testing::Test (it is constructed before the fixture's own members).

#include "config_test_util.h"
#include "fake_volume_deps.h"
#include "fakes/fake_clock.h"
#include "fakes/fake_runtime.h"
#include "kite/kubelet/pod_cgroups.h"
#include "kite/kubelet/pod_syncer.h"
#include "kite/kubelet/volume_manager.h"

namespace kite::kubelet::testing {

class PodSyncerRig {
 protected:
  PodSyncerRig()
      : volumes_(mounter_, dir_.path() / "root", config_, 1ULL << 30),
        cgroups_(dir_.path() / "cgroup", "/"),
        syncer_(runtime_, runtime_, volumes_, cgroups_, config_, clock_, nodeFacts()) {
    runtime_.addLocalImage("nginx:1.22.1");
  }

  NodeFacts nodeFacts() const {
    NodeFacts node;
    node.nodeName = "node-a";
    node.hostIP = "192.0.2.1";
    node.podLogsRoot = dir_.path() / "logs";
    node.seccompProfileRoot = dir_.path() / "seccomp";
    node.resolvConf = dir_.write("resolv.conf", "nameserver 192.0.2.53\n");
    return node;
  }

  TempDir dir_;
  kite::testing::FakeRuntime runtime_;
  kite::testing::FakeClock clock_;
  NoMounts mounter_;
  NoConfigSource config_;
  VolumeManager volumes_;
  PodCgroups cgroups_;
  PodSyncer syncer_;
};

}  // namespace kite::kubelet::testing
