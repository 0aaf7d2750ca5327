// Log rotation over the fake runtime, with real log files in a temp dir and a
// fake clock for the rotation timestamps.

#include "kite/kubelet/container_log_manager.h"

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>

#include "config_test_util.h"
#include "fakes/fake_clock.h"
#include "fakes/fake_runtime.h"
#include "kite/kubelet/labels.h"

namespace kite::kubelet {
namespace {

namespace fs = std::filesystem;
using kite::testing::FakeClock;
using kite::testing::FakeRuntime;

int countCalls(const FakeRuntime& runtime, const std::string& method) {
  int n = 0;
  for (const auto& call : runtime.calls()) n += call == method ? 1 : 0;
  return n;
}

std::string readFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

class ContainerLogManagerTest : public ::testing::Test {
 protected:
  ContainerLogManagerTest() {
    runtime_.addLocalImage("busybox:1.36");
    cri::v1::PodSandboxConfig sandbox;
    sandbox.mutable_metadata()->set_name("web");
    sandbox.mutable_metadata()->set_uid("uid-1");
    sandbox.mutable_metadata()->set_namespace_("shop");
    sandbox.set_log_directory(dir_.path().string());
    sandbox_ = sandbox;
    sandboxId_ = runtime_.runPodSandbox(sandbox, "");
  }

  // A running container whose log is <dir>/<name>/0.log.
  std::string startContainer(const std::string& name, bool managed = true) {
    cri::v1::ContainerConfig config;
    config.mutable_metadata()->set_name(name);
    config.mutable_image()->set_image("busybox:1.36");
    const fs::path log = dir_.path() / name / "0.log";
    fs::create_directories(log.parent_path());
    config.set_log_path(log.string());
    if (managed) (*config.mutable_labels())[labels::kManagedBy] = labels::kManagedByValue;
    auto id = runtime_.createContainer(sandboxId_, config, sandbox_);
    runtime_.startContainer(id);
    return id;
  }

  static void append(const fs::path& file, std::size_t bytes) {
    std::ofstream(file, std::ios::app) << std::string(bytes, 'x');
  }

  testing::TempDir dir_;
  FakeRuntime runtime_;
  FakeClock clock_;
  cri::v1::PodSandboxConfig sandbox_;
  std::string sandboxId_;
};

TEST_F(ContainerLogManagerTest, RotatesALogOverTheLimitAndAsksTheRuntimeToReopen) {
  startContainer("app");
  const fs::path log = dir_.path() / "app" / "0.log";
  ContainerLogManager manager(runtime_, clock_, {.maxSizeBytes = 1000, .maxFiles = 3});

  append(log, 999);
  EXPECT_EQ(manager.rotateAll(), 0);  // under the limit
  EXPECT_EQ(countCalls(runtime_, "ReopenContainerLog"), 0);

  append(log, 10);
  EXPECT_EQ(manager.rotateAll(), 1);
  EXPECT_EQ(countCalls(runtime_, "ReopenContainerLog"), 1);
  const auto rotated = rotatedLogs(log);
  ASSERT_EQ(rotated.size(), 1U);
  EXPECT_EQ(fs::file_size(rotated[0]), 1009U);
  // The fake clock's wall time is the epoch: the suffix is its UTC stamp.
  EXPECT_EQ(rotated[0].filename().string().substr(0, 6), "0.log.");
  EXPECT_EQ(rotated[0].filename().string().size(), 6U + 15U);
}

TEST_F(ContainerLogManagerTest, KeepsAtMostMaxFilesOldestDeletedFirst) {
  startContainer("app");
  const fs::path log = dir_.path() / "app" / "0.log";
  ContainerLogManager manager(runtime_, clock_, {.maxSizeBytes = 100, .maxFiles = 3});
  for (int round = 0; round < 5; ++round) {
    std::ofstream(log, std::ios::app) << "round " << round << '\n' << std::string(100, 'x');
    EXPECT_EQ(manager.rotateAll(), 1) << round;
    clock_.advance(std::chrono::seconds(1));  // a new timestamp per rotation
    std::ofstream(log).close();               // the runtime's reopened, empty log
  }
  const auto rotated = rotatedLogs(log);
  ASSERT_EQ(rotated.size(), 2U);  // + the current log = maxFiles
  EXPECT_TRUE(readFile(rotated[0]).starts_with("round 3"));
  EXPECT_TRUE(readFile(rotated[1]).starts_with("round 4"));
  EXPECT_TRUE(fs::exists(log));
}

TEST_F(ContainerLogManagerTest, SameSecondRotationWaitsForTheNextPass) {
  startContainer("app");
  const fs::path log = dir_.path() / "app" / "0.log";
  ContainerLogManager manager(runtime_, clock_, {.maxSizeBytes = 10, .maxFiles = 5});
  append(log, 20);
  EXPECT_EQ(manager.rotateAll(), 1);
  append(log, 20);
  EXPECT_EQ(manager.rotateAll(), 0);  // same timestamp: never overwrite a rotated file
  clock_.advance(std::chrono::seconds(1));
  EXPECT_EQ(manager.rotateAll(), 1);
  EXPECT_EQ(rotatedLogs(log).size(), 2U);
}

TEST_F(ContainerLogManagerTest, FailedReopenPutsTheLogBack) {
  startContainer("app");
  const fs::path log = dir_.path() / "app" / "0.log";
  ContainerLogManager manager(runtime_, clock_, {.maxSizeBytes = 10, .maxFiles = 5});
  append(log, 20);
  runtime_.failNext("ReopenContainerLog", cri::ErrorCode::kUnavailable, "runtime is busy");
  EXPECT_EQ(manager.rotateAll(), 0);
  EXPECT_TRUE(rotatedLogs(log).empty());
  EXPECT_EQ(fs::file_size(log), 20U);
}

TEST_F(ContainerLogManagerTest, LeavesOtherContainersAndStoppedOnesAlone) {
  const auto stopped = startContainer("done");
  runtime_.exitContainer(stopped, 0);
  startContainer("foreign", /*managed=*/false);
  ContainerLogManager manager(runtime_, clock_, {.maxSizeBytes = 10, .maxFiles = 5});
  append(dir_.path() / "done" / "0.log", 20);
  append(dir_.path() / "foreign" / "0.log", 20);
  EXPECT_EQ(manager.rotateAll(), 0);
  EXPECT_EQ(countCalls(runtime_, "ReopenContainerLog"), 0);
}

TEST_F(ContainerLogManagerTest, RefusesAPolicyWithFewerThanTwoFiles) {
  EXPECT_THROW(ContainerLogManager(runtime_, clock_, {.maxSizeBytes = 10, .maxFiles = 1}),
               std::invalid_argument);
}

}  // namespace
}  // namespace kite::kubelet
