#include "kite/kubelet/image_manager.h"

#include <gtest/gtest.h>

#include "fakes/fake_clock.h"
#include "fakes/fake_runtime.h"

namespace kite::kubelet {
namespace {

using namespace std::chrono_literals;

TEST(PullPolicy, DefaultRuleFollowsTheTag) {
  EXPECT_EQ(pullPolicyFor("busybox", ""), PullPolicy::kAlways);
  EXPECT_EQ(pullPolicyFor("busybox:latest", ""), PullPolicy::kAlways);
  EXPECT_EQ(pullPolicyFor("busybox:1.35", ""), PullPolicy::kIfNotPresent);
  EXPECT_EQ(pullPolicyFor("127.0.0.1:5000/busybox", ""), PullPolicy::kAlways);
  EXPECT_EQ(pullPolicyFor("127.0.0.1:5000/busybox:1.35", ""), PullPolicy::kIfNotPresent);
  EXPECT_EQ(pullPolicyFor("busybox@sha256:0123", ""), PullPolicy::kIfNotPresent);
  EXPECT_EQ(pullPolicyFor("busybox:1.35", "Always"), PullPolicy::kAlways);
  EXPECT_EQ(pullPolicyFor("busybox:latest", "Never"), PullPolicy::kNever);
  EXPECT_THROW(pullPolicyFor("busybox", "Sometimes"), std::invalid_argument);
}

TEST(Credentials, MatchTheRegistryOfTheImage) {
  const std::string config =
      R"({"auths": {"127.0.0.1:5000": {"auth": "a2l0ZTpzZWNyZXQ="},
                   "https://index.docker.io/v1/": {"username": "hub", "password": "pw"}}})";
  auto local = credentialsFor("127.0.0.1:5000/private/busybox:1.35", {config});
  ASSERT_EQ(local.size(), 1U);
  EXPECT_EQ(local[0].username(), "kite");
  EXPECT_EQ(local[0].password(), "secret");
  auto hub = credentialsFor("busybox", {config});
  ASSERT_EQ(hub.size(), 1U);
  EXPECT_EQ(hub[0].username(), "hub");
  EXPECT_TRUE(credentialsFor("quay.example/x:1", {config}).empty());
  EXPECT_THROW(credentialsFor("busybox", {"{not json"}), std::invalid_argument);
}

class ImageManagerTest : public ::testing::Test {
 protected:
  std::string reasonOf(const std::string& image, PullPolicy policy) {
    try {
      manager_.ensureImage("pod-uid", image, policy, {}, {});
    } catch (const ImagePullError& e) {
      return e.reason();
    }
    return "";
  }
  testing::FakeClock clock_;
  testing::FakeRuntime runtime_;
  ImageManager manager_{runtime_, clock_};
};

TEST_F(ImageManagerTest, NeverUsesOnlyWhatIsPresent) {
  EXPECT_EQ(reasonOf("busybox:1.35", PullPolicy::kNever), "ErrImageNeverPull");
  runtime_.addLocalImage("busybox:1.35");
  EXPECT_EQ(reasonOf("busybox:1.35", PullPolicy::kNever), "");
  for (const auto& call : runtime_.calls()) EXPECT_NE(call, "PullImage");
}

TEST_F(ImageManagerTest, IfNotPresentPullsOnlyWhenMissing) {
  runtime_.addRegistryImage("busybox:1.35");
  EXPECT_EQ(reasonOf("busybox:1.35", PullPolicy::kIfNotPresent), "");
  EXPECT_EQ(reasonOf("busybox:1.35", PullPolicy::kIfNotPresent), "");
  const auto calls = runtime_.calls();
  EXPECT_EQ(std::count(calls.begin(), calls.end(), "PullImage"), 1);
}

TEST_F(ImageManagerTest, AlwaysPullsEveryTime) {
  runtime_.addRegistryImage("busybox:latest");
  runtime_.addLocalImage("busybox:latest");
  EXPECT_EQ(reasonOf("busybox:latest", PullPolicy::kAlways), "");
  EXPECT_EQ(reasonOf("busybox:latest", PullPolicy::kAlways), "");
  const auto calls = runtime_.calls();
  EXPECT_EQ(std::count(calls.begin(), calls.end(), "PullImage"), 2);
}

TEST_F(ImageManagerTest, FailedPullBacksOff) {
  EXPECT_EQ(reasonOf("nope:1", PullPolicy::kIfNotPresent), "ErrImagePull");
  EXPECT_EQ(reasonOf("nope:1", PullPolicy::kIfNotPresent), "ImagePullBackOff");
  clock_.advance(11s);
  EXPECT_EQ(reasonOf("nope:1", PullPolicy::kIfNotPresent), "ErrImagePull");
  clock_.advance(11s);  // back-off doubled to 20 s
  EXPECT_EQ(reasonOf("nope:1", PullPolicy::kIfNotPresent), "ImagePullBackOff");
  runtime_.addRegistryImage("nope:1");
  clock_.advance(10s);
  EXPECT_EQ(reasonOf("nope:1", PullPolicy::kIfNotPresent), "");
}

TEST_F(ImageManagerTest, MessagesReadAsUpstream) {
  try {
    manager_.ensureImage("u", "busybox:9", PullPolicy::kNever, {}, {});
    FAIL();
  } catch (const ImagePullError& e) {
    EXPECT_STREQ(e.what(),
                 "Container image \"busybox:9\" is not present with pull policy of Never");
  }
  EXPECT_EQ(reasonOf("Busybox:1", PullPolicy::kIfNotPresent), "InvalidImageName");
  EXPECT_EQ(reasonOf("", PullPolicy::kIfNotPresent), "InvalidImageName");
}

TEST_F(ImageManagerTest, ReportsWhetherItPulledForTheEvents) {
  runtime_.addRegistryImage("busybox:1.35");
  const auto first = manager_.ensureImage("u", "busybox:1.35", PullPolicy::kIfNotPresent, {}, {});
  EXPECT_TRUE(first.pulled);
  EXPECT_FALSE(first.id.empty());
  const auto second = manager_.ensureImage("u", "busybox:1.35", PullPolicy::kIfNotPresent, {}, {});
  EXPECT_FALSE(second.pulled);
  EXPECT_EQ(second.id, first.id);

  EnsuredImage pulled{.id = "sha256:x", .pulled = true, .pullTime = 1234ms, .size = 42};
  EXPECT_EQ(pulledMessage("busybox:1.35", pulled),
            "Successfully pulled image \"busybox:1.35\" in 1.234s (1.234s including waiting). "
            "Image size: 42 bytes.");
  using Event = std::pair<std::string, std::string>;
  EXPECT_EQ(pullFailureEvent(ImagePullError("ErrImagePull", "")), Event("Warning", "Failed"));
  EXPECT_EQ(pullFailureEvent(ImagePullError("ImagePullBackOff", "")), Event("Normal", "BackOff"));
  EXPECT_EQ(pullFailureEvent(ImagePullError("ErrImageNeverPull", "")),
            Event("Warning", "ErrImageNeverPull"));
  EXPECT_EQ(pullFailureEvent(ImagePullError("InvalidImageName", "")),
            Event("Warning", "InspectFailed"));
}

}  // namespace
}  // namespace kite::kubelet
