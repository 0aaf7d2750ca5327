#include "kite/kubelet/pod_cgroups.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

namespace kite::kubelet {
namespace {

namespace fs = std::filesystem;

// A pretend cgroupfs: hierarchy dirs marked by a cgroup.procs file, plus the
// cpu,cpuacct style symlink that must not be treated as a second hierarchy.
class FakeCgroupfs {
 public:
  FakeCgroupfs() {
    std::string pattern = (fs::temp_directory_path() / "kite-cgroupfs-XXXXXX").string();
    root_ = ::mkdtemp(pattern.data());
    for (const char* name : {"cpu", "memory", "pids", "unified"}) {
      fs::create_directories(root_ / name);
      std::ofstream(root_ / name / "cgroup.procs");
    }
    fs::create_directory_symlink(root_ / "cpu", root_ / "cpu,cpuacct");
  }
  ~FakeCgroupfs() { fs::remove_all(root_); }
  const fs::path& root() const { return root_; }

 private:
  fs::path root_;
};

TEST(PodCgroups, PathsFollowTheQosLayout) {
  PodCgroups cgroups("/sys/fs/cgroup", "/");
  EXPECT_EQ(cgroups.podCgroupPath("u1", QosClass::kGuaranteed), "/kubepods/podu1");
  EXPECT_EQ(cgroups.podCgroupPath("u1", QosClass::kBurstable), "/kubepods/burstable/podu1");
  EXPECT_EQ(cgroups.podCgroupPath("u1", QosClass::kBestEffort), "/kubepods/besteffort/podu1");
  PodCgroups nested("/sys/fs/cgroup", "/kite-tb-1/");
  EXPECT_EQ(nested.podCgroupPath("u1", QosClass::kBestEffort),
            "/kite-tb-1/kubepods/besteffort/podu1");
}

TEST(PodCgroups, CreatesAndRemovesInEveryHierarchy) {
  FakeCgroupfs cgroupfs;
  PodCgroups cgroups(cgroupfs.root(), "/test");
  EXPECT_EQ(cgroups.hierarchies().size(), 4U);
  cgroups.create("u1", QosClass::kBurstable);
  for (const char* h : {"cpu", "memory", "pids", "unified"}) {
    EXPECT_TRUE(fs::is_directory(cgroupfs.root() / h / "test/kubepods/burstable/podu1")) << h;
  }
  // A runtime's leftover child cgroup is removed too.
  fs::create_directories(cgroupfs.root() / "memory/test/kubepods/burstable/podu1/abc");
  EXPECT_TRUE(cgroups.remove("u1", QosClass::kBurstable));
  for (const char* h : {"cpu", "memory", "pids", "unified"}) {
    EXPECT_FALSE(fs::exists(cgroupfs.root() / h / "test/kubepods/burstable/podu1")) << h;
  }
  EXPECT_TRUE(cgroups.remove("u1", QosClass::kBurstable));  // idempotent
}

}  // namespace
}  // namespace kite::kubelet
