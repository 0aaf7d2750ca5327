// The whole Kubelet (workers, syncer, status) over the fake runtime. A pod
// whose disk emptyDir grows over its sizeLimit is evicted (containers killed,
// phase Failed, reason Evicted) and never started again; a pod left over from
// before a restart is stopped with its own grace period and preStop hook; one the API reports
// ended is not run again by a restarted kubelet; a pod being stopped does not wait for a worker
// busy starting another.
// Syncs are driven by setPods + waitIdle, so nothing depends on timing.

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <future>

#include "kite/kubelet/kubelet.h"
#include "pod_syncer_rig.h"

namespace kite::kubelet {
namespace {

namespace corev1 = api::core::v1;
namespace fs = std::filesystem;

int countCalls(const kite::testing::FakeRuntime& runtime, const std::string& method) {
  int n = 0;
  for (const auto& call : runtime.calls()) n += call == method ? 1 : 0;
  return n;
}

class KubeletTest : public ::testing::Test, protected testing::PodSyncerRig {
 protected:
  KubeletTest() : kubelet_(syncer_, clock_, KubeletOptions{}) {}

  corev1::Pod podWithCache() const {
    corev1::Pod pod = testing::basicPod();
    corev1::Volume cache;
    cache.name = "cache";
    cache.emptyDir.emplace();
    cache.emptyDir->sizeLimit = api::Quantity::parse("64Ki");
    pod.spec.volumes.push_back(cache);
    corev1::VolumeMount mount;
    mount.name = "cache";
    mount.mountPath = "/cache";
    pod.spec.containers[0].volumeMounts.push_back(mount);
    return pod;
  }

  corev1::Pod syncAndGet(const corev1::Pod& pod) {
    kubelet_.setPods({pod});
    kubelet_.waitIdle();
    const auto pods = kubelet_.pods();
    if (pods.size() != 1) throw std::runtime_error("expected exactly one pod");
    return pods.front();
  }

  Kubelet kubelet_;
};

TEST_F(KubeletTest, PodWhoseEmptyDirExceedsItsSizeLimitIsEvicted) {
  const corev1::Pod pod = podWithCache();
  EXPECT_EQ(syncAndGet(pod).status.phase, "Running");

  // Under the limit: nothing happens.
  const fs::path cache =
      dir_.path() / "root" / "pods" / "uid-1" / "volumes" / "kubernetes.io~empty-dir" / "cache";
  std::ofstream(cache / "small") << std::string(16UL * 1024, 'x');
  EXPECT_EQ(syncAndGet(pod).status.phase, "Running");

  std::ofstream(cache / "big") << std::string(128UL * 1024, 'x');
  const corev1::Pod evicted = syncAndGet(pod);
  EXPECT_EQ(evicted.status.phase, "Failed");
  EXPECT_EQ(evicted.status.reason, "Evicted");
  EXPECT_EQ(evicted.status.message,
            "Usage of EmptyDir volume \"cache\" exceeds the limit \"64Ki\". ");
  ASSERT_EQ(evicted.status.containerStatuses.size(), 1U);
  EXPECT_TRUE(evicted.status.containerStatuses[0].state.terminated.has_value());
  bool disrupted = false;
  for (const auto& c : evicted.status.conditions) {
    disrupted = disrupted || (c.type == "DisruptionTarget" && c.status == "True");
  }
  EXPECT_TRUE(disrupted);
  for (const auto& c : runtime_.listContainers({})) {
    EXPECT_EQ(c.state(), cri::v1::CONTAINER_EXITED) << c.id();
  }
  for (const auto& s : runtime_.listPodSandbox({})) {
    EXPECT_EQ(s.state(), cri::v1::SANDBOX_NOTREADY) << s.id();
  }

  // Evicted for good: later syncs create nothing, even once the space is freed.
  fs::remove(cache / "big");
  const corev1::Pod later = syncAndGet(pod);
  EXPECT_EQ(later.status.reason, "Evicted");
  EXPECT_EQ(countCalls(runtime_, "RunPodSandbox"), 1);
  EXPECT_EQ(countCalls(runtime_, "CreateContainer"), 1);
}

TEST_F(KubeletTest, MemoryEmptyDirIsNotCheckedOnDisk) {
  corev1::Pod pod = podWithCache();
  pod.spec.volumes[0].emptyDir->medium = "Memory";
  // A tmpfs emptyDir is sized by the mount itself; the fake mounter refuses
  // to mount, so the pod reports the failed mount and is never evicted.
  const corev1::Pod synced = syncAndGet(pod);
  EXPECT_NE(synced.status.reason, "Evicted");
}

TEST_F(KubeletTest, OrphanIsStoppedWithItsOwnGracePeriodAndPreStopHook) {
  corev1::Pod pod = testing::basicPod();
  pod.spec.terminationGracePeriodSeconds = 7;
  auto& app = pod.spec.containers[0];
  app.lifecycle.emplace();
  app.lifecycle->preStop.emplace();
  app.lifecycle->preStop->exec.emplace();
  app.lifecycle->preStop->exec->command = {"/bin/sh", "-c", "echo bye > /data/bye"};
  corev1::ContainerPort port;
  port.name = "http";
  port.containerPort = 8080;
  app.ports.push_back(port);
  EXPECT_EQ(syncAndGet(pod).status.phase, "Running");

  // A kubelet that lost the spec (manifest removed while it was down) only
  // has the runtime's annotations to go by.
  const auto before = runtime_.calls().size();
  EXPECT_EQ(syncer_.killOrphan("uid-1"), 7);
  const auto calls = runtime_.calls();
  const std::vector<std::string> after(calls.begin() + static_cast<std::ptrdiff_t>(before),
                                       calls.end());
  const auto exec = std::find(after.begin(), after.end(), "ExecSync");
  const auto stop = std::find(after.begin(), after.end(), "StopContainer");
  ASSERT_NE(exec, after.end()) << "the preStop hook did not run";
  ASSERT_NE(stop, after.end());
  EXPECT_LT(exec, stop) << "preStop must run before the container is stopped";
  EXPECT_NE(std::find(after.begin(), after.end(), "StopPodSandbox"), after.end());
  for (const auto& c : runtime_.listContainers({})) {
    EXPECT_EQ(c.state(), cri::v1::CONTAINER_EXITED) << c.id();
  }
}

TEST_F(KubeletTest, RestartedKubeletStopsPodsItNoLongerHasGracefully) {
  corev1::Pod pod = testing::basicPod();
  pod.spec.terminationGracePeriodSeconds = 3;
  EXPECT_EQ(syncAndGet(pod).status.phase, "Running");

  // A second kubelet over the same runtime, whose source lists no pods.
  Kubelet restarted(syncer_, clock_, KubeletOptions{});
  restarted.setPods({});
  restarted.waitIdle();
  EXPECT_TRUE(runtime_.listContainers({}).empty());
  EXPECT_TRUE(runtime_.listPodSandbox({}).empty());
  const auto calls = runtime_.calls();
  const auto stop = std::find(calls.begin(), calls.end(), "StopContainer");
  const auto remove = std::find(calls.begin(), calls.end(), "RemoveContainer");
  ASSERT_NE(stop, calls.end());
  EXPECT_LT(stop, remove);
}

// A restarted kubelet is handed API pods with their statuses: one the API reports ended is
// never started again, and what still runs of it is stopped; its status is left as it is.
TEST_F(KubeletTest, RestartedKubeletDoesNotRunAgainPodsTheApiReportsEnded) {
  corev1::Pod evicted = testing::basicPod();
  EXPECT_EQ(syncAndGet(evicted).status.phase, "Running");  // still running in the runtime
  evicted.status.phase = "Failed";
  evicted.status.reason = "Evicted";
  evicted.status.message = "The node was low on resource: memory. ";
  corev1::Pod completed = testing::basicPod();
  completed.metadata.uid = "uid-2";
  completed.metadata.name = "done";
  completed.status.phase = "Succeeded";

  Kubelet restarted(syncer_, clock_, KubeletOptions{});
  restarted.setPods("api", {evicted, completed});
  restarted.waitIdle();
  EXPECT_EQ(countCalls(runtime_, "RunPodSandbox"), 1);  // the first kubelet's only
  EXPECT_EQ(countCalls(runtime_, "CreateContainer"), 1);
  for (const auto& c : runtime_.listContainers({})) {
    EXPECT_EQ(c.state(), cri::v1::CONTAINER_EXITED) << c.id();
  }
  for (const auto& pod : restarted.pods()) {
    if (pod.metadata.uid == evicted.metadata.uid) {
      EXPECT_EQ(pod.status.phase, "Failed");
      EXPECT_EQ(pod.status.reason, "Evicted");
    } else {
      EXPECT_EQ(pod.status.phase, "Succeeded");
    }
  }

  // Later syncs start nothing either.
  restarted.setPods("api", {evicted, completed});
  restarted.waitIdle();
  EXPECT_EQ(countCalls(runtime_, "RunPodSandbox"), 1);
}

// One worker, held by a pod whose sandbox the runtime is slow to start: a pod deleted
// meanwhile is still stopped, on a termination worker, without waiting for it.
TEST_F(KubeletTest, PodsBeingStoppedDoNotQueueBehindPodsBeingStarted) {
  KubeletOptions options;
  options.workers = 1;
  options.terminationWorkers = 1;
  Kubelet kubelet(syncer_, clock_, options);
  std::promise<corev1::Pod> terminated;
  kubelet.setHooks({.onTerminated = [&](const corev1::Pod& p) { terminated.set_value(p); }});
  const corev1::Pod running = testing::basicPod();
  kubelet.setPods("api", {running});
  kubelet.waitIdle();

  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::promise<void> held;
  runtime_.onRunPodSandbox([&](const std::string& name) {
    if (name != "slow") return;
    held.set_value();
    released.wait();
  });
  corev1::Pod slow = testing::basicPod();
  slow.metadata.uid = "uid-slow";
  slow.metadata.name = "slow";
  kubelet.setPods("api", {slow});  // `running` is no longer desired
  held.get_future().wait();        // the only worker now waits in RunPodSandbox
  auto stopped = terminated.get_future();
  const bool done = stopped.wait_for(std::chrono::seconds(30)) == std::future_status::ready;
  release.set_value();
  kubelet.waitIdle();
  ASSERT_TRUE(done) << "the stop waited behind the start";
  EXPECT_EQ(stopped.get().metadata.uid, running.metadata.uid);
}

}  // namespace
}  // namespace kite::kubelet
