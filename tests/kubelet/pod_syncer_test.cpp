// PodSyncer's sandbox replacement over the fake runtime: a sandbox whose creation failed
// half-way (the runtime keeps its name reserved) or whose pause process died is replaced by
// one with a higher attempt, so the new name is free, and the dead ones are stopped and
// removed; the pod's events say so.

#include <gtest/gtest.h>

#include <algorithm>

#include "kite/kubelet/labels.h"
#include "kite/kubelet/pod_syncer.h"
#include "pod_syncer_rig.h"

namespace kite::kubelet {
namespace {

namespace corev1 = api::core::v1;

class PodSyncerSandboxTest : public ::testing::Test, protected testing::PodSyncerRig {
 protected:
  // The pod's sandboxes as the runtime lists them: attempt -> ready.
  std::map<uint32_t, bool> sandboxes() {
    std::map<uint32_t, bool> out;
    for (const auto& s : runtime_.listPodSandbox({})) {
      out[s.metadata().attempt()] = s.state() == cri::v1::SANDBOX_READY;
    }
    return out;
  }

  static bool hasEvent(const SyncResult& result, const std::string& reason,
                       const std::string& messagePrefix) {
    return std::any_of(result.events.begin(), result.events.end(), [&](const PodEvent& e) {
      return e.reason == reason && e.message.starts_with(messagePrefix);
    });
  }
};

TEST_F(PodSyncerSandboxTest, FailedSandboxKeepingItsNameIsReplacedByTheNextAttempt) {
  const corev1::Pod pod = testing::basicPod();

  runtime_.failNextSandboxKeepingName("failed to setup network for sandbox: plugin failed");
  const SyncResult failed = syncer_.sync(pod, {});
  EXPECT_TRUE(hasEvent(failed, "FailedCreatePodSandBox",
                       "Failed to create pod sandbox: failed to setup network for sandbox"));
  EXPECT_EQ(sandboxes(), (std::map<uint32_t, bool>{{0, false}}));

  // Twice in a row: the second leftover has no creation time either.
  runtime_.failNextSandboxKeepingName("failed to setup network for sandbox: plugin failed");
  const SyncResult failedAgain = syncer_.sync(pod, {});
  EXPECT_TRUE(hasEvent(failedAgain, "FailedCreatePodSandBox", "Failed to create pod sandbox"));
  EXPECT_TRUE(hasEvent(failedAgain, "SandboxChanged",
                       "Pod sandbox changed, it will be killed and re-created."));
  EXPECT_EQ(sandboxes(), (std::map<uint32_t, bool>{{1, false}}));  // attempt 0 removed

  const SyncResult ok = syncer_.sync(pod, {});
  EXPECT_TRUE(ok.podError.empty()) << ok.podError;
  EXPECT_FALSE(hasEvent(ok, "FailedCreatePodSandBox", ""));
  EXPECT_EQ(sandboxes(), (std::map<uint32_t, bool>{{2, true}}));
  ASSERT_TRUE(ok.runtime.sandboxReady());
  ASSERT_EQ(ok.runtime.containers.size(), 1U);
  EXPECT_TRUE(ok.runtime.containers.front().running());
}

TEST_F(PodSyncerSandboxTest, ALeftoverWhoseRemovalFailedGoesOnALaterSync) {
  const corev1::Pod pod = testing::basicPod();
  runtime_.failNextSandboxKeepingName("failed to setup network for sandbox: plugin failed");
  syncer_.sync(pod, {});
  // Removing the leftover fails once (its network teardown still fails): the new sandbox is
  // made all the same, and the leftover goes on the next sync.
  runtime_.failNext("RemovePodSandbox", cri::ErrorCode::kUnknown, "failed to destroy network");
  const SyncResult ok = syncer_.sync(pod, {});
  ASSERT_TRUE(ok.runtime.sandboxReady()) << ok.podError;
  EXPECT_EQ(sandboxes(), (std::map<uint32_t, bool>{{0, false}, {1, true}}));
  syncer_.sync(pod, {});
  EXPECT_EQ(sandboxes(), (std::map<uint32_t, bool>{{1, true}}));
  // Nothing left to remove: a steady pod's sync makes no sandbox calls.
  const auto before = runtime_.calls().size();
  syncer_.sync(pod, {});
  for (std::size_t i = before; i < runtime_.calls().size(); ++i) {
    EXPECT_NE(runtime_.calls()[i], "RemovePodSandbox");
    EXPECT_NE(runtime_.calls()[i], "StopPodSandbox");
  }
}

TEST_F(PodSyncerSandboxTest, DeadPauseAndAFailedRetryStillEndInANewSandbox) {
  const corev1::Pod pod = testing::basicPod();
  const SyncResult first = syncer_.sync(pod, {});
  ASSERT_TRUE(first.runtime.sandboxReady());
  const std::string original = first.runtime.sandboxes.front().id();

  // The pause process is killed: the sandbox is NOTREADY, its container still runs.
  runtime_.killSandbox(original);
  runtime_.advanceClock(std::chrono::seconds(1));
  // The replacement fails half-way: the listed leftover (attempt 1) has no creation
  // time, so the dead original (attempt 0) still sorts as the newest.
  runtime_.failNextSandboxKeepingName("failed to setup network for sandbox: plugin failed");
  const SyncResult failed = syncer_.sync(pod, {});
  EXPECT_TRUE(hasEvent(failed, "SandboxChanged", "Pod sandbox changed"));
  EXPECT_TRUE(hasEvent(failed, "FailedCreatePodSandBox", "Failed to create pod sandbox"));

  const SyncResult ok = syncer_.sync(pod, {});
  EXPECT_TRUE(ok.podError.empty()) << ok.podError;
  ASSERT_TRUE(ok.runtime.sandboxReady());
  EXPECT_EQ(ok.runtime.sandboxes.front().metadata().attempt(), 2U);
  // The failed leftover is gone; the original stays (stopped) for the container's history.
  EXPECT_EQ(sandboxes(), (std::map<uint32_t, bool>{{0, false}, {2, true}}));
  ASSERT_EQ(ok.runtime.containers.size(), 2U);
  EXPECT_TRUE(ok.runtime.containers.front().running());
  EXPECT_EQ(ok.runtime.containers.front().restartCount, 1);
  EXPECT_TRUE(ok.runtime.containers.back().exited());  // killed with the old sandbox
}

TEST_F(PodSyncerSandboxTest, OlderDeadSandboxesAreRemovedWhenTheNextIsMade) {
  const corev1::Pod pod = testing::basicPod();
  for (uint32_t attempt = 0; attempt < 3; ++attempt) {
    const SyncResult result = syncer_.sync(pod, {});
    ASSERT_TRUE(result.runtime.sandboxReady()) << result.podError;
    EXPECT_EQ(result.runtime.sandboxes.front().metadata().attempt(), attempt);
    runtime_.killSandbox(result.runtime.sandboxes.front().id());
    runtime_.advanceClock(std::chrono::seconds(1));
  }
  // Of the dead ones only the sandbox holding the newest (now exited) container is kept.
  const SyncResult last = syncer_.sync(pod, {});
  ASSERT_TRUE(last.runtime.sandboxReady());
  EXPECT_EQ(sandboxes(), (std::map<uint32_t, bool>{{2, false}, {3, true}}));
  int running = 0;
  for (const auto& c : runtime_.listContainers({})) {
    running += c.state() == cri::v1::CONTAINER_RUNNING ? 1 : 0;
  }
  EXPECT_EQ(running, 1);
}

}  // namespace
}  // namespace kite::kubelet
