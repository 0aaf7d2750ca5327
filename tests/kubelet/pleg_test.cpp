#include "kite/kubelet/pleg.h"

#include <gtest/gtest.h>

#include "fakes/fake_clock.h"
#include "fakes/fake_runtime.h"
#include "kite/kubelet/labels.h"

namespace kite::kubelet {
namespace {

using namespace std::chrono_literals;

class PlegTest : public ::testing::Test {
 protected:
  PlegTest()
      : pleg_(runtime_, clock_, [this](const PodLifecycleEvent& e) { events_.push_back(e); }) {
    runtime_.addLocalImage("busybox:1.35");
  }

  cri::v1::PodSandboxConfig sandbox(const std::string& uid, bool managed) {
    cri::v1::PodSandboxConfig config;
    config.mutable_metadata()->set_name("p-" + uid);
    config.mutable_metadata()->set_uid(uid);
    (*config.mutable_labels())[labels::kPodUid] = uid;
    if (managed) (*config.mutable_labels())[labels::kManagedBy] = labels::kManagedByValue;
    return config;
  }

  std::string container(const std::string& podId, const cri::v1::PodSandboxConfig& config,
                        bool managed) {
    cri::v1::ContainerConfig c;
    c.mutable_metadata()->set_name("c");
    c.mutable_image()->set_image("busybox:1.35");
    (*c.mutable_labels())[labels::kPodUid] = config.metadata().uid();
    if (managed) (*c.mutable_labels())[labels::kManagedBy] = labels::kManagedByValue;
    return runtime_.createContainer(podId, c, config);
  }

  int count(PodEventType type) const {
    return static_cast<int>(std::count_if(events_.begin(), events_.end(),
                                          [&](const auto& e) { return e.type == type; }));
  }

  testing::FakeClock clock_;
  testing::FakeRuntime runtime_;
  std::vector<PodLifecycleEvent> events_;
  Pleg pleg_;
};

TEST_F(PlegTest, ReportsStartsDeathsAndRemovals) {
  const auto config = sandbox("u1", true);
  const auto pod = runtime_.runPodSandbox(config, "");
  const auto c = container(pod, config, true);
  runtime_.startContainer(c);
  ASSERT_TRUE(pleg_.relist());
  EXPECT_EQ(count(PodEventType::kSandboxChanged), 1);
  EXPECT_EQ(count(PodEventType::kContainerStarted), 1);

  events_.clear();
  ASSERT_TRUE(pleg_.relist());
  EXPECT_TRUE(events_.empty()) << "no change, no event";

  runtime_.exitContainer(c, 1);
  pleg_.relist();
  ASSERT_EQ(events_.size(), 1U);
  EXPECT_EQ(events_[0].type, PodEventType::kContainerDied);
  EXPECT_EQ(events_[0].podUid, "u1");

  events_.clear();
  runtime_.removeContainer(c);
  pleg_.relist();
  ASSERT_EQ(events_.size(), 1U);
  EXPECT_EQ(events_[0].type, PodEventType::kContainerRemoved);
}

TEST_F(PlegTest, IgnoresWhatKiteDidNotCreate) {
  const auto config = sandbox("foreign", false);
  const auto pod = runtime_.runPodSandbox(config, "");
  runtime_.startContainer(container(pod, config, false));
  pleg_.relist();
  EXPECT_TRUE(events_.empty());
}

TEST_F(PlegTest, HealthDependsOnRecentRelists) {
  EXPECT_FALSE(pleg_.healthy());
  pleg_.relist();
  EXPECT_TRUE(pleg_.healthy());
  clock_.advance(4min);
  EXPECT_FALSE(pleg_.healthy());
  runtime_.failNext("ListPodSandbox", cri::ErrorCode::kUnavailable, "down");
  EXPECT_FALSE(pleg_.relist());
  EXPECT_FALSE(pleg_.healthy());
}

}  // namespace
}  // namespace kite::kubelet
