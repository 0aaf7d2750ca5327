// The Kubelet with several pod sources ("file" and "api") and the API's
// graceful deletion, over the fake runtime: a pod stays while any source has
// it; a pod with a deletionTimestamp is stopped and reported terminated (with a
// terminal phase) so the API side can delete it; hooks see statuses and events
// with the container's fieldPath.

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <mutex>
#include <thread>

#include "kite/kubelet/kubelet.h"
#include "pod_syncer_rig.h"

namespace kite::kubelet {
namespace {

namespace corev1 = api::core::v1;

class KubeletSourcesTest : public ::testing::Test, protected testing::PodSyncerRig {
 protected:
  std::unique_ptr<Kubelet> makeKubelet(std::set<std::string> sources = {}) {
    KubeletOptions options;
    options.sources = std::move(sources);
    auto kubelet = std::make_unique<Kubelet>(syncer_, clock_, options);
    KubeletHooks hooks;
    hooks.onStatus = [this](const corev1::Pod& pod) {
      std::lock_guard lock(mutex_);
      statuses_.push_back(pod);
    };
    hooks.onTerminated = [this](const corev1::Pod& pod) {
      std::lock_guard lock(mutex_);
      terminated_.push_back(pod);
    };
    hooks.onEvent = [this](const corev1::Pod&, const PodEvent& event) {
      std::lock_guard lock(mutex_);
      events_.push_back(event);
    };
    kubelet->setHooks(std::move(hooks));
    return kubelet;
  }

  static corev1::Pod pod(const std::string& name, const std::string& uid) {
    corev1::Pod p = testing::basicPod();
    p.metadata.name = name;
    p.metadata.uid = uid;
    return p;
  }

  std::size_t runningContainers() {
    std::size_t n = 0;
    for (const auto& c : runtime_.listContainers({})) {
      n += c.state() == cri::v1::CONTAINER_RUNNING ? 1 : 0;
    }
    return n;
  }

  std::mutex mutex_;
  std::vector<corev1::Pod> statuses_;
  std::vector<corev1::Pod> terminated_;
  std::vector<PodEvent> events_;
};

TEST_F(KubeletSourcesTest, PodStaysWhileAnySourceHasIt) {
  auto kubelet = makeKubelet();
  kubelet->setPods("file", {pod("a", "uid-a")});
  kubelet->setPods("api", {pod("a", "uid-a"), pod("b", "uid-b")});
  kubelet->waitIdle();
  EXPECT_EQ(kubelet->pods().size(), 2U);
  EXPECT_EQ(runningContainers(), 2U);

  // Gone from the API only: "a" is still a static pod, "b" goes.
  kubelet->setPods("api", {});
  kubelet->waitIdle();
  ASSERT_EQ(kubelet->pods().size(), 1U);
  EXPECT_EQ(kubelet->pods()[0].metadata.uid, "uid-a");
  EXPECT_EQ(runningContainers(), 1U);

  kubelet->setPods("file", {});
  kubelet->waitIdle();
  EXPECT_TRUE(kubelet->pods().empty());
  EXPECT_TRUE(runtime_.listContainers({}).empty());
  EXPECT_TRUE(runtime_.listPodSandbox({}).empty());
}

TEST_F(KubeletSourcesTest, StatusAndEventsReachTheHooks) {
  auto kubelet = makeKubelet();
  kubelet->setPods("api", {pod("a", "uid-a")});
  kubelet->waitIdle();
  std::lock_guard lock(mutex_);
  ASSERT_FALSE(statuses_.empty());
  EXPECT_EQ(statuses_.back().status.phase, "Running");
  EXPECT_EQ(statuses_.back().status.qosClass, "BestEffort");
  bool started = false;
  for (const auto& e : events_) {
    if (e.reason == "Started") {
      started = true;
      EXPECT_EQ(e.fieldPath, "spec.containers{app}");
      EXPECT_EQ(e.message, "Started container app");
    }
  }
  EXPECT_TRUE(started);
}

TEST_F(KubeletSourcesTest, FailedProbeIsAnUnhealthyEventOfItsContainer) {
  corev1::Pod p = pod("probed", "uid-p");
  auto& app = p.spec.containers[0];
  app.readinessProbe.emplace();
  app.readinessProbe->exec.emplace();
  app.readinessProbe->exec->command = {"check-ready"};
  app.readinessProbe->periodSeconds = 1;
  cri::ExecResult failing;
  failing.exitCode = 1;
  failing.stdoutData = "not yet";
  runtime_.setExecResult("check-ready", failing);
  auto kubelet = makeKubelet();
  kubelet->setPods("api", {p});
  kubelet->waitIdle();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  bool unhealthy = false;
  while (!unhealthy && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    std::lock_guard lock(mutex_);
    for (const auto& e : events_) {
      if (e.reason != "Unhealthy") continue;
      unhealthy = true;
      EXPECT_EQ(e.type, "Warning");
      EXPECT_EQ(e.fieldPath, "spec.containers{app}");
      EXPECT_NE(e.message.find("Readiness probe failed"), std::string::npos) << e.message;
    }
  }
  EXPECT_TRUE(unhealthy);
  kubelet->stop();
}

TEST_F(KubeletSourcesTest, DeletingPodIsStoppedAndReportedTerminated) {
  auto kubelet = makeKubelet();
  corev1::Pod p = pod("a", "uid-a");
  kubelet->setPods("api", {p});
  kubelet->waitIdle();
  ASSERT_EQ(runningContainers(), 1U);

  p.metadata.deletionTimestamp = api::Time(clock_.wallNow());
  p.metadata.deletionGracePeriodSeconds = 5;
  kubelet->setPods("api", {p});
  kubelet->waitIdle();
  EXPECT_TRUE(kubelet->pods().empty());
  EXPECT_TRUE(runtime_.listContainers({}).empty());
  EXPECT_TRUE(runtime_.listPodSandbox({}).empty());
  std::lock_guard lock(mutex_);
  ASSERT_EQ(terminated_.size(), 1U);
  EXPECT_EQ(terminated_[0].metadata.uid, "uid-a");
  // Killed by the stop (the fake's exit code 137): Failed, the container terminated.
  EXPECT_EQ(terminated_[0].status.phase, "Failed");
  ASSERT_EQ(terminated_[0].status.containerStatuses.size(), 1U);
  EXPECT_TRUE(terminated_[0].status.containerStatuses[0].state.terminated.has_value());
  bool killing = false;
  for (const auto& e : events_) {
    if (e.reason == "Killing") {
      killing = true;
      EXPECT_EQ(e.message, "Stopping container app");
      EXPECT_EQ(e.fieldPath, "spec.containers{app}");
    }
  }
  EXPECT_TRUE(killing);
}

TEST_F(KubeletSourcesTest, DeletingPodNeverRunIsReportedAtOnce) {
  auto kubelet = makeKubelet();
  corev1::Pod p = pod("a", "uid-a");
  p.metadata.deletionTimestamp = api::Time(clock_.wallNow());
  p.metadata.deletionGracePeriodSeconds = 30;
  kubelet->setPods("api", {p});
  kubelet->waitIdle();
  EXPECT_TRUE(runtime_.listPodSandbox({}).empty());
  std::lock_guard lock(mutex_);
  ASSERT_EQ(terminated_.size(), 1U);
  EXPECT_EQ(terminated_[0].metadata.uid, "uid-a");
}

TEST_F(KubeletSourcesTest, PodGoneFromTheWatchIsKilledAnyway) {
  // A forced delete (grace 0) removes the object: the pod just vanishes from the source.
  auto kubelet = makeKubelet();
  kubelet->setPods("api", {pod("a", "uid-a")});
  kubelet->waitIdle();
  kubelet->setPods("api", {});
  kubelet->waitIdle();
  EXPECT_TRUE(runtime_.listContainers({}).empty());
  EXPECT_TRUE(runtime_.listPodSandbox({}).empty());
}

TEST_F(KubeletSourcesTest, OrphansWaitForEverySource) {
  auto first = makeKubelet();
  first->setPods("api", {pod("a", "uid-a")});
  first->waitIdle();
  first->stop();

  // A restarted kubelet with two sources: the file source alone says nothing about API pods.
  auto restarted = makeKubelet({"file", "api"});
  restarted->setPods("file", {});
  restarted->waitIdle();
  EXPECT_EQ(runningContainers(), 1U);
  restarted->setPods("api", {pod("a", "uid-a")});
  restarted->waitIdle();
  EXPECT_EQ(runningContainers(), 1U);
  const auto calls = runtime_.calls();
  EXPECT_EQ(std::count(calls.begin(), calls.end(), "RunPodSandbox"), 1);
}

}  // namespace
}  // namespace kite::kubelet
