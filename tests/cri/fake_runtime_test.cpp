// The fake must behave like a runtime where callers depend on it: state
// transitions, NotFound, idempotent stop/remove, filters. Kubelet unit tests
// rely on these properties.

#include "fakes/fake_runtime.h"

#include <gtest/gtest.h>

namespace kite::testing {
namespace {

v1::PodSandboxConfig sandboxConfig(const std::string& name) {
  v1::PodSandboxConfig config;
  config.mutable_metadata()->set_name(name);
  config.mutable_metadata()->set_namespace_("default");
  config.mutable_metadata()->set_uid("uid-" + name);
  (*config.mutable_labels())["app"] = name;
  return config;
}

v1::ContainerConfig containerConfig(const std::string& name, const std::string& image) {
  v1::ContainerConfig config;
  config.mutable_metadata()->set_name(name);
  config.mutable_image()->set_image(image);
  return config;
}

TEST(FakeRuntime, SandboxAndContainerLifecycle) {
  FakeRuntime runtime;
  runtime.addRegistryImage("busybox:1.35");
  runtime.pullImage(cri::imageSpec("busybox:1.35"), {}, nullptr);

  const auto config = sandboxConfig("web");
  const auto pod = runtime.runPodSandbox(config, "");
  const auto id = runtime.createContainer(pod, containerConfig("c", "busybox:1.35"), config);
  EXPECT_EQ(runtime.containerStatus(id, false).status().state(), v1::CONTAINER_CREATED);
  runtime.startContainer(id);
  EXPECT_EQ(runtime.containerStatus(id, false).status().state(), v1::CONTAINER_RUNNING);
  runtime.exitContainer(id, 3);
  const auto status = runtime.containerStatus(id, false).status();
  EXPECT_EQ(status.state(), v1::CONTAINER_EXITED);
  EXPECT_EQ(status.exit_code(), 3);
  EXPECT_EQ(status.reason(), "Error");

  EXPECT_THROW(runtime.removePodSandbox(pod), cri::Error);  // still ready
  runtime.stopPodSandbox(pod);
  runtime.removePodSandbox(pod);
  EXPECT_TRUE(runtime.listContainers({}).empty());
  runtime.stopPodSandbox(pod);  // idempotent
  runtime.removePodSandbox(pod);
}

TEST(FakeRuntime, UnknownIdsAreNotFound) {
  FakeRuntime runtime;
  try {
    runtime.containerStatus("nope", false);
    FAIL();
  } catch (const cri::Error& e) {
    EXPECT_TRUE(e.isNotFound());
  }
}

TEST(FakeRuntime, PullOfUnknownImageFailsAndCreateNeedsImage) {
  FakeRuntime runtime;
  EXPECT_THROW(runtime.pullImage(cri::imageSpec("nginx:1.22.1"), {}, nullptr), cri::Error);
  const auto config = sandboxConfig("a");
  const auto pod = runtime.runPodSandbox(config, "");
  EXPECT_THROW(runtime.createContainer(pod, containerConfig("c", "nginx:1.22.1"), config),
               cri::Error);
}

TEST(FakeRuntime, ImageNamesAreNormalized) {
  FakeRuntime runtime;
  runtime.addLocalImage("busybox");
  EXPECT_TRUE(runtime.imageStatus(cri::imageSpec("docker.io/library/busybox:latest")));
  EXPECT_TRUE(runtime.imageStatus(cri::imageSpec("busybox:latest")));
  EXPECT_FALSE(runtime.imageStatus(cri::imageSpec("busybox:1.35")));
}

TEST(FakeRuntime, FiltersByLabelAndState) {
  FakeRuntime runtime;
  runtime.runPodSandbox(sandboxConfig("a"), "");
  const auto b = runtime.runPodSandbox(sandboxConfig("b"), "");
  runtime.stopPodSandbox(b);
  v1::PodSandboxFilter byLabel;
  (*byLabel.mutable_label_selector())["app"] = "a";
  EXPECT_EQ(runtime.listPodSandbox(byLabel).size(), 1U);
  v1::PodSandboxFilter notReady;
  notReady.mutable_state()->set_state(v1::SANDBOX_NOTREADY);
  ASSERT_EQ(runtime.listPodSandbox(notReady).size(), 1U);
  EXPECT_EQ(runtime.listPodSandbox(notReady)[0].id(), b);
}

TEST(FakeRuntime, InjectedFailureFiresOnce) {
  FakeRuntime runtime;
  runtime.failNext("RunPodSandbox", cri::ErrorCode::kUnavailable, "down");
  EXPECT_THROW(runtime.runPodSandbox(sandboxConfig("a"), ""), cri::Error);
  EXPECT_NO_THROW(runtime.runPodSandbox(sandboxConfig("a"), ""));
}

TEST(FakeRuntime, DuplicateSandboxNameIsRefused) {
  FakeRuntime runtime;
  runtime.runPodSandbox(sandboxConfig("a"), "");
  try {
    runtime.runPodSandbox(sandboxConfig("a"), "");
    FAIL();
  } catch (const cri::Error& e) {
    EXPECT_EQ(e.code(), cri::ErrorCode::kAlreadyExists);
  }
}

TEST(FakeRuntime, NoEventStreamLikeContainerd16) {
  FakeRuntime runtime;
  try {
    runtime.containerEvents();
    FAIL();
  } catch (const cri::Error& e) {
    EXPECT_TRUE(e.isUnimplemented());
  }
}

}  // namespace
}  // namespace kite::testing
