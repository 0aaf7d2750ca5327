// The kubelet's decisions, rule by rule, on hand-built runtime states.

#include "kite/kubelet/pod_actions.h"

#include <gtest/gtest.h>

#include "fakes/fake_clock.h"

namespace kite::kubelet {
namespace {

namespace corev1 = api::core::v1;
using namespace std::chrono_literals;

corev1::Container container(const std::string& name) {
  corev1::Container c;
  c.name = name;
  c.image = "busybox:1.35";
  return c;
}

corev1::Pod pod(const std::string& restartPolicy, const std::vector<std::string>& inits,
                const std::vector<std::string>& containers) {
  corev1::Pod p;
  p.metadata.name = "p";
  p.metadata.namespace_ = "default";
  p.metadata.uid = "uid-1";
  p.spec.restartPolicy = restartPolicy;
  for (const auto& n : inits) p.spec.initContainers.push_back(container(n));
  for (const auto& n : containers) p.spec.containers.push_back(container(n));
  return p;
}

class PodActionsTest : public ::testing::Test {
 protected:
  PodActionsTest() : backoff_(clock_, 10s, 300s) {
    inputs_.crashBackoff = &backoff_;
    inputs_.clock = &clock_;
  }

  void readySandbox() {
    cri::v1::PodSandboxStatus s;
    s.set_id("sb1");
    s.set_state(cri::v1::SANDBOX_READY);
    s.mutable_network()->set_ip("10.88.0.5");
    runtime_.sandboxes.insert(runtime_.sandboxes.begin(), s);
  }

  // A container instance, newest first like readRuntimePod returns them.
  void instance(const std::string& name, cri::v1::ContainerState state, int exitCode = 0,
                int restartCount = 0, bool init = false, std::chrono::seconds finishedAgo = 1s) {
    RuntimeContainer c;
    c.name = name;
    c.init = init;
    c.restartCount = restartCount;
    c.podSandboxId = "sb1";
    c.status.set_id(name + "-" + std::to_string(restartCount));
    c.status.set_state(state);
    c.status.set_exit_code(exitCode);
    const auto finished = clock_.wallNow() - finishedAgo;
    c.status.set_finished_at(
        std::chrono::duration_cast<std::chrono::nanoseconds>(finished.time_since_epoch()).count());
    runtime_.containers.insert(runtime_.containers.begin(), c);
  }

  std::vector<std::string> started(const PodActions& a, const corev1::Pod& p) {
    std::vector<std::string> names;
    for (const auto& s : a.toStart) {
      names.push_back(s.init ? p.spec.initContainers[s.index].name
                             : p.spec.containers[s.index].name);
    }
    return names;
  }

  testing::FakeClock clock_;
  base::Backoff backoff_;
  ActionInputs inputs_;
  RuntimePod runtime_;
};

TEST_F(PodActionsTest, NewPodCreatesSandboxAndRunsTheFirstInitContainerOnly) {
  const auto p = pod("Always", {"init-a", "init-b"}, {"main"});
  const auto a = computePodActions(p, runtime_, inputs_);
  EXPECT_TRUE(a.createSandbox);
  EXPECT_EQ(started(a, p), (std::vector<std::string>{"init-a"}));
}

TEST_F(PodActionsTest, InitContainersRunOneByOne) {
  const auto p = pod("Always", {"init-a", "init-b"}, {"main"});
  readySandbox();
  instance("init-a", cri::v1::CONTAINER_RUNNING, 0, 0, true);
  EXPECT_TRUE(computePodActions(p, runtime_, inputs_).toStart.empty());
  runtime_.containers.clear();
  instance("init-a", cri::v1::CONTAINER_EXITED, 0, 0, true);
  EXPECT_EQ(started(computePodActions(p, runtime_, inputs_), p),
            (std::vector<std::string>{"init-b"}));
  instance("init-b", cri::v1::CONTAINER_EXITED, 0, 0, true);
  EXPECT_EQ(started(computePodActions(p, runtime_, inputs_), p),
            (std::vector<std::string>{"main"}));
}

TEST_F(PodActionsTest, FailedInitWithRestartPolicyNeverFailsThePod) {
  const auto p = pod("Never", {"init"}, {"main"});
  readySandbox();
  instance("init", cri::v1::CONTAINER_EXITED, 1, 0, true);
  const auto a = computePodActions(p, runtime_, inputs_);
  EXPECT_TRUE(a.terminal);
  EXPECT_TRUE(a.killPod);
  EXPECT_TRUE(a.toStart.empty());
}

TEST_F(PodActionsTest, StoppedSandboxOfAFailedNeverPodIsNotRecreated) {
  const auto p = pod("Never", {"init"}, {"main"});
  cri::v1::PodSandboxStatus stopped;
  stopped.set_id("sb1");
  stopped.set_state(cri::v1::SANDBOX_NOTREADY);
  runtime_.sandboxes.push_back(stopped);
  instance("init", cri::v1::CONTAINER_EXITED, 1, 0, true);
  const auto a = computePodActions(p, runtime_, inputs_);
  EXPECT_TRUE(a.terminal);
  EXPECT_FALSE(a.createSandbox);
  EXPECT_TRUE(a.toStart.empty());
}

TEST_F(PodActionsTest, FailedInitIsRetriedWithBackoffOtherwise) {
  for (const char* policy : {"Always", "OnFailure"}) {
    runtime_ = {};
    backoff_.reset("uid-1/init");
    const auto p = pod(policy, {"init"}, {"main"});
    readySandbox();
    instance("init", cri::v1::CONTAINER_EXITED, 1, 0, true);
    EXPECT_EQ(started(computePodActions(p, runtime_, inputs_), p),
              (std::vector<std::string>{"init"}))
        << policy;
    backoff_.next("uid-1/init");  // the restart was made; it failed again at once
    const auto a = computePodActions(p, runtime_, inputs_);
    EXPECT_TRUE(a.toStart.empty()) << policy;
    EXPECT_EQ(a.waiting.at("init").reason, "CrashLoopBackOff") << policy;
  }
}

TEST_F(PodActionsTest, CrashLoopBackOffDoublesAndTheMessageReadsAsUpstream) {
  const auto p = pod("Always", {}, {"main"});
  readySandbox();
  instance("main", cri::v1::CONTAINER_EXITED, 2, 3, false, 5s);
  backoff_.next("uid-1/main");
  backoff_.next("uid-1/main");  // 20 s
  auto a = computePodActions(p, runtime_, inputs_);
  EXPECT_EQ(a.waiting.at("main").reason, "CrashLoopBackOff");
  EXPECT_EQ(a.waiting.at("main").message,
            "back-off 20s restarting failed container=main pod=p_default(uid-1)");
  clock_.advance(16s);  // 21 s since it died
  a = computePodActions(p, runtime_, inputs_);
  ASSERT_EQ(a.toStart.size(), 1U);
  EXPECT_EQ(a.toStart[0].restartCount, 4);
}

TEST_F(PodActionsTest, RestartPolicyDecidesOverExitedContainers) {
  struct Case {
    const char* policy;
    int exitCode;
    bool restarts;
  };
  for (const auto& c :
       {Case{"Always", 0, true}, Case{"Always", 1, true}, Case{"OnFailure", 0, false},
        Case{"OnFailure", 1, true}, Case{"Never", 0, false}, Case{"Never", 1, false}}) {
    runtime_ = {};
    const auto p = pod(c.policy, {}, {"main"});
    readySandbox();
    instance("main", cri::v1::CONTAINER_EXITED, c.exitCode, 0, false, 100s);
    const auto a = computePodActions(p, runtime_, inputs_);
    EXPECT_EQ(!a.toStart.empty(), c.restarts) << c.policy << " exit " << c.exitCode;
    EXPECT_EQ(a.terminal, !c.restarts) << c.policy << " exit " << c.exitCode;
  }
}

TEST_F(PodActionsTest, ChangedSpecRestartsTheContainer) {
  auto p = pod("Always", {}, {"main"});
  readySandbox();
  instance("main", cri::v1::CONTAINER_RUNNING);
  runtime_.containers[0].hash = containerHash(p.spec.containers[0]);
  inputs_.hashes["main"] = containerHash(p.spec.containers[0]);
  EXPECT_TRUE(computePodActions(p, runtime_, inputs_).toKill.empty());
  p.spec.containers[0].image = "busybox:latest";
  inputs_.hashes["main"] = containerHash(p.spec.containers[0]);
  const auto a = computePodActions(p, runtime_, inputs_);
  ASSERT_EQ(a.toKill.size(), 1U);
  EXPECT_EQ(a.toStart.size(), 1U);
}

TEST_F(PodActionsTest, FailedLivenessRestartsUnlessNever) {
  const auto p = pod("Always", {}, {"main"});
  readySandbox();
  instance("main", cri::v1::CONTAINER_RUNNING);
  inputs_.unhealthy = {"main"};
  const auto a = computePodActions(p, runtime_, inputs_);
  EXPECT_EQ(a.toKill.size(), 1U);
  EXPECT_EQ(a.toStart.size(), 1U);
}

TEST_F(PodActionsTest, SidecarStartsAndKeepsRunningWhileTheNextInitRuns) {
  auto p = pod("Always", {"sidecar", "init"}, {"main"});
  p.spec.initContainers[0].restartPolicy = "Always";
  readySandbox();
  EXPECT_EQ(started(computePodActions(p, runtime_, inputs_), p),
            (std::vector<std::string>{"sidecar"}));
  instance("sidecar", cri::v1::CONTAINER_RUNNING, 0, 0, true);
  EXPECT_EQ(started(computePodActions(p, runtime_, inputs_), p),
            (std::vector<std::string>{"init"}));
  instance("init", cri::v1::CONTAINER_EXITED, 0, 0, true);
  EXPECT_EQ(started(computePodActions(p, runtime_, inputs_), p),
            (std::vector<std::string>{"main"}));
}

TEST_F(PodActionsTest, DeadSandboxIsReplacedAndInitStartsOver) {
  const auto p = pod("Always", {"init"}, {"main"});
  cri::v1::PodSandboxStatus dead;
  dead.set_id("sb0");
  dead.set_state(cri::v1::SANDBOX_NOTREADY);
  dead.mutable_metadata()->set_attempt(2);
  runtime_.sandboxes.push_back(dead);
  instance("main", cri::v1::CONTAINER_EXITED, 137);
  const auto a = computePodActions(p, runtime_, inputs_);
  EXPECT_TRUE(a.createSandbox);
  EXPECT_TRUE(a.killPod);
  EXPECT_EQ(a.sandboxAttempt, 3U);
  EXPECT_EQ(started(a, p), (std::vector<std::string>{"init"}));
}

}  // namespace
}  // namespace kite::kubelet
