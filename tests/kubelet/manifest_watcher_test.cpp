#include "kite/kubelet/manifest_watcher.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <condition_variable>
#include <fstream>
#include <mutex>

namespace kite::kubelet {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

class ManifestWatcherTest : public ::testing::Test {
 public:
  ManifestWatcherTest() {
    std::string pattern = (fs::temp_directory_path() / "kite-manifests-XXXXXX").string();
    dir_ = ::mkdtemp(pattern.data());
  }
  ~ManifestWatcherTest() override { fs::remove_all(dir_); }

 protected:
  void onChange(const std::vector<ManifestFile>& files) {
    std::lock_guard lock(mutex_);
    names_.clear();
    for (const auto& f : files) names_.push_back(f.path.filename().string() + "=" + f.content);
    ++deliveries_;
    changed_.notify_all();
  }

  // Waits up to one second (the bound) for the directory to look like `expected`.
  bool waitFor(const std::vector<std::string>& expected) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, 1s, [&] { return names_ == expected; });
  }

  fs::path dir_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::string> names_;
  int deliveries_ = 0;
};

TEST_F(ManifestWatcherTest, SeesAddChangeRemoveWithinASecond) {
  std::ofstream(dir_ / "a.yaml") << "one";
  ManifestWatcher watcher(dir_, [this](const auto& files) { onChange(files); });
  watcher.start();
  EXPECT_TRUE(waitFor({"a.yaml=one"}));

  std::ofstream(dir_ / "b.yaml") << "two";
  EXPECT_TRUE(waitFor({"a.yaml=one", "b.yaml=two"}));

  std::ofstream(dir_ / "a.yaml") << "changed";
  EXPECT_TRUE(waitFor({"a.yaml=changed", "b.yaml=two"}));

  // An editor's atomic save: write elsewhere, rename over.
  std::ofstream(dir_ / ".b.yaml.swp") << "three";
  fs::rename(dir_ / ".b.yaml.swp", dir_ / "b.yaml");
  EXPECT_TRUE(waitFor({"a.yaml=changed", "b.yaml=three"}));

  fs::remove(dir_ / "a.yaml");
  EXPECT_TRUE(waitFor({"b.yaml=three"}));
  watcher.stop();
}

TEST_F(ManifestWatcherTest, DotfilesAndDirectoriesAreIgnored) {
  std::ofstream(dir_ / ".hidden.yaml") << "x";
  fs::create_directory(dir_ / "sub");
  std::ofstream(dir_ / "pod.json") << "{}";
  const auto files = readManifestDirectory(dir_);
  ASSERT_EQ(files.size(), 1U);
  EXPECT_EQ(files[0].path.filename(), "pod.json");
}

}  // namespace
}  // namespace kite::kubelet
