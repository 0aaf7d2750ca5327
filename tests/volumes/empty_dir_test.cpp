#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <string>

#include "kite/volumes/disk_usage.h"
#include "kite/volumes/empty_dir.h"
#include "kite/volumes/error.h"
#include "kite/volumes/mounter.h"
#include "test_util.h"

namespace kite::volumes {
namespace {

using testing::errorOf;
using testing::TempDir;

constexpr std::uint64_t kMiB = std::uint64_t{1024} * 1024;

class EmptyDirTest : public ::testing::Test {
 protected:
  void SetUp() override { KITE_REQUIRE_ROOT(); }

  std::string podDir() const { return tmp_ / "pods/uid-1"; }
  std::string readyFile(const std::string& volume) const {
    return podDir() + "/plugins/kubernetes.io~empty-dir/" + volume + "/ready";
  }

  TempDir tmp_;
  std::unique_ptr<Mounter> mounter_ = newSystemMounter();
};

// Writes size bytes of real data; returns errno of the first failed write, 0 if none.
int fill(const std::string& path, std::uint64_t size) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    return errno;
  }
  const std::string chunk(std::size_t{64} * 1024, 'x');
  int err = 0;
  for (std::uint64_t written = 0; written < size && err == 0;) {
    const ssize_t n = ::write(fd, chunk.data(), chunk.size());
    if (n < 0) {
      err = errno;
    } else {
      written += static_cast<std::uint64_t>(n);
    }
  }
  ::close(fd);
  return err;
}

TEST_F(EmptyDirTest, DiskVolumeHasUpstreamLayoutAndMode0777) {
  const testing::UmaskGuard umask(022);
  EmptyDir dir(*mounter_, podDir(), "cache");
  EXPECT_EQ(dir.path(), podDir() + "/volumes/kubernetes.io~empty-dir/cache");
  dir.setUp({});
  const auto st = testing::statOf(dir.path());
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0777U);
  EXPECT_TRUE(testing::exists(readyFile("cache")));
  EXPECT_FALSE(mounter_->isMountPoint(dir.path()));
}

TEST_F(EmptyDirTest, DiskSetUpAgainKeepsWhatThePodChanged) {
  EmptyDir dir(*mounter_, podDir(), "cache");
  dir.setUp({});
  testing::writeFile(dir.path() + "/data", "kept");
  ASSERT_EQ(::chmod(dir.path().c_str(), 0700), 0);
  dir.setUp({});  // a kubelet restart, say
  EXPECT_EQ(testing::readFile(dir.path() + "/data"), "kept");
  EXPECT_EQ(testing::permissions(dir.path()), 0700U);
}

TEST_F(EmptyDirTest, DiskSetUpRecreatesAVolumeRemovedBehindItsBack) {
  EmptyDir dir(*mounter_, podDir(), "cache");
  dir.setUp({});
  ASSERT_EQ(::rmdir(dir.path().c_str()), 0);
  dir.setUp({});
  EXPECT_EQ(testing::permissions(dir.path()), 0777U);
}

TEST_F(EmptyDirTest, DiskTearDownRemovesVolumeAndReadyFileAndIsIdempotent) {
  EmptyDir dir(*mounter_, podDir(), "cache");
  dir.setUp({});
  ASSERT_EQ(::mkdir((dir.path() + "/sub").c_str(), 0755), 0);
  testing::writeFile(dir.path() + "/sub/file", "x");
  ASSERT_EQ(::symlink("/etc/hostname", (dir.path() + "/link").c_str()), 0);
  dir.tearDown();
  EXPECT_FALSE(testing::exists(dir.path()));
  EXPECT_FALSE(testing::exists(readyFile("cache")));
  EXPECT_TRUE(testing::exists("/etc/hostname")) << "symlinks are removed, not followed";
  EXPECT_NO_THROW(dir.tearDown());
}

TEST_F(EmptyDirTest, MemoryVolumeIsATmpfsOfTheRequestedSize) {
  EmptyDir dir(*mounter_, podDir(), "scratch");
  dir.setUp({StorageMedium::kMemory, 1 * kMiB, std::nullopt});
  ASSERT_EQ(testing::mountsBelow(dir.path()).size(), 1U);
  bool found = false;
  for (const auto& mount : readMountInfo()) {
    if (mount.mountPoint == dir.path()) {
      found = true;
      EXPECT_EQ(mount.fsType, "tmpfs");
      EXPECT_NE(mount.superOptions.find("size=1024k"), std::string::npos) << mount.superOptions;
    }
  }
  EXPECT_TRUE(found);
  // The tmpfs root keeps the kernel's 1777, as with upstream.
  EXPECT_EQ(testing::permissions(dir.path()), 01777U);

  EXPECT_EQ(fill(dir.path() + "/small", kMiB / 2), 0);
  EXPECT_EQ(fill(dir.path() + "/big", 2 * kMiB), ENOSPC) << "size limit not enforced";
}

TEST_F(EmptyDirTest, MemorySetUpAgainMountsNothingMore) {
  EmptyDir dir(*mounter_, podDir(), "scratch");
  dir.setUp({StorageMedium::kMemory, 1 * kMiB, std::nullopt});
  testing::writeFile(dir.path() + "/data", "kept");
  dir.setUp({StorageMedium::kMemory, 1 * kMiB, std::nullopt});
  EmptyDir(*mounter_, podDir(), "scratch").setUp({StorageMedium::kMemory, 1 * kMiB, std::nullopt});
  EXPECT_EQ(testing::mountsBelow(dir.path()).size(), 1U);
  EXPECT_EQ(testing::readFile(dir.path() + "/data"), "kept");
}

TEST_F(EmptyDirTest, MemorySetUpRemountsWhenTheTmpfsIsGone) {
  EmptyDir dir(*mounter_, podDir(), "scratch");
  dir.setUp({StorageMedium::kMemory, 1 * kMiB, std::nullopt});
  ASSERT_EQ(::umount2(dir.path().c_str(), 0), 0);  // e.g. a node reboot kept the ready file
  dir.setUp({StorageMedium::kMemory, 1 * kMiB, std::nullopt});
  EXPECT_EQ(testing::mountsBelow(dir.path()).size(), 1U);
}

TEST_F(EmptyDirTest, MemoryWithoutSizeLimitUsesTheKernelDefault) {
  EmptyDir dir(*mounter_, podDir(), "scratch");
  dir.setUp({StorageMedium::kMemory, std::nullopt, std::nullopt});
  EXPECT_TRUE(mounter_->isMountPoint(dir.path()));
}

TEST_F(EmptyDirTest, MemoryTearDownUnmountsAndRemovesWithoutBeingToldTheMedium) {
  const std::string path = [&] {
    EmptyDir dir(*mounter_, podDir(), "scratch");
    dir.setUp({StorageMedium::kMemory, 1 * kMiB, std::nullopt});
    testing::writeFile(dir.path() + "/data", "x");
    return dir.path();
  }();
  // A fresh object, as after a kubelet restart: the medium comes from mountinfo.
  EmptyDir(*mounter_, podDir(), "scratch").tearDown();
  EXPECT_TRUE(testing::mountsBelow(tmp_.path()).empty());
  EXPECT_FALSE(testing::exists(path));
  EXPECT_FALSE(testing::exists(readyFile("scratch")));
}

TEST_F(EmptyDirTest, TearDownRefusesToDeleteIntoAForeignMount) {
  EmptyDir dir(*mounter_, podDir(), "cache");
  dir.setUp({});
  const std::string inner = dir.path() + "/mnt";
  ASSERT_EQ(::mkdir(inner.c_str(), 0755), 0);
  ASSERT_EQ(::mount("tmpfs", inner.c_str(), "tmpfs", 0, nullptr), 0);
  testing::writeFile(inner + "/precious", "x");
  const auto e = errorOf([&] { dir.tearDown(); });
  EXPECT_EQ(e.reason(), Reason::kInternal);
  EXPECT_TRUE(testing::exists(inner + "/precious"));
}

TEST_F(EmptyDirTest, HugePagesIsNotSupported) {
  EmptyDir dir(*mounter_, podDir(), "huge");
  const auto e = errorOf([&] { dir.setUp({StorageMedium::kHugePages, {}, {}}); });
  EXPECT_EQ(e.reason(), Reason::kNotSupported);
  EXPECT_NE(std::string(e.what()).find("HugePages is not supported"), std::string::npos);
  EXPECT_FALSE(testing::exists(dir.path()));
}

TEST_F(EmptyDirTest, FsGroupOwnsTheVolume) {
  EmptyDir dir(*mounter_, podDir(), "shared");
  dir.setUp({StorageMedium::kDefault, std::nullopt, 4321});
  const auto st = testing::statOf(dir.path());
  EXPECT_EQ(st.st_gid, 4321U);
  EXPECT_EQ(st.st_mode & 07777, 02777U) << "setgid, so new files inherit the group";
}

TEST(EmptyDirNames, MediumParsing) {
  EXPECT_EQ(parseStorageMedium(""), StorageMedium::kDefault);
  EXPECT_EQ(parseStorageMedium("Memory"), StorageMedium::kMemory);
  EXPECT_EQ(parseStorageMedium("HugePages"), StorageMedium::kHugePages);
  EXPECT_EQ(parseStorageMedium("HugePages-2Mi"), StorageMedium::kHugePages);
  const auto e = errorOf([] { parseStorageMedium("Disk"); });
  EXPECT_EQ(e.reason(), Reason::kInvalid);
  EXPECT_STREQ(e.what(), "unknown storage medium \"Disk\"");
}

TEST(EmptyDirNames, VolumeNameMustBeOneComponent) {
  auto mounter = newSystemMounter();
  for (const char* name : {"", ".", "..", "a/b", "../../etc"}) {
    EXPECT_EQ(errorOf([&] { EmptyDir(*mounter, "/tmp/pod", name); }).reason(), Reason::kInvalid)
        << name;
  }
}

TEST(EmptyDirNames, MemorySizeIsTheSmallestOfNodePodAndVolume) {
  EXPECT_EQ(memoryEmptyDirSize(8 * kMiB, std::nullopt, std::nullopt), 8 * kMiB);
  EXPECT_EQ(memoryEmptyDirSize(8 * kMiB, 4 * kMiB, std::nullopt), 4 * kMiB);
  EXPECT_EQ(memoryEmptyDirSize(8 * kMiB, 4 * kMiB, 2 * kMiB), 2 * kMiB);
  EXPECT_EQ(memoryEmptyDirSize(8 * kMiB, 4 * kMiB, 6 * kMiB), 4 * kMiB);
  EXPECT_EQ(memoryEmptyDirSize(8 * kMiB, 16 * kMiB, 0), 8 * kMiB) << "zero means unset";
}

class DiskUsageTest : public ::testing::Test {
 protected:
  TempDir tmp_;
};

TEST_F(DiskUsageTest, CountsAllocatedBlocksOfEveryEntry) {
  const auto empty = diskUsage(tmp_.path());
  EXPECT_EQ(empty.inodes, 1U);
  ASSERT_EQ(fill(tmp_ / "one", kMiB), 0);
  ASSERT_EQ(::mkdir((tmp_ / "sub").c_str(), 0755), 0);
  ASSERT_EQ(fill(tmp_ / "sub/two", kMiB), 0);
  const auto usage = diskUsage(tmp_.path());
  EXPECT_GE(usage.bytes, 2 * kMiB);
  EXPECT_LT(usage.bytes, 2 * kMiB + kMiB / 4);
  EXPECT_EQ(usage.inodes, 4U);
  EXPECT_EQ(usageBytes(tmp_.path()), usage.bytes);
}

TEST_F(DiskUsageTest, SparseFilesCountWhatIsAllocated) {
  const int fd = ::open((tmp_ / "sparse").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::ftruncate(fd, static_cast<off_t>(64 * kMiB)), 0);
  ::close(fd);
  EXPECT_LT(usageBytes(tmp_.path()), kMiB);
}

TEST_F(DiskUsageTest, HardLinksCountOnceAndSymlinksAreNotFollowed) {
  ASSERT_EQ(::mkdir((tmp_ / "vol").c_str(), 0755), 0);
  ASSERT_EQ(fill(tmp_ / "vol/data", kMiB), 0);
  ASSERT_EQ(::link((tmp_ / "vol/data").c_str(), (tmp_ / "vol/again").c_str()), 0);
  ASSERT_EQ(fill(tmp_ / "outside", 4 * kMiB), 0);
  ASSERT_EQ(::symlink((tmp_ / "outside").c_str(), (tmp_ / "vol/link").c_str()), 0);
  const auto usage = diskUsage(tmp_ / "vol");
  EXPECT_GE(usage.bytes, kMiB);
  EXPECT_LT(usage.bytes, 2 * kMiB);
  EXPECT_EQ(usage.inodes, 3U);  // vol, data (once), link
}

TEST_F(DiskUsageTest, OtherFilesystemsMountedInsideAreNotCounted) {
  KITE_REQUIRE_ROOT();
  ASSERT_EQ(::mkdir((tmp_ / "mnt").c_str(), 0755), 0);
  ASSERT_EQ(::mount("tmpfs", (tmp_ / "mnt").c_str(), "tmpfs", 0, nullptr), 0);
  ASSERT_EQ(fill(tmp_ / "mnt/big", 4 * kMiB), 0);
  EXPECT_LT(usageBytes(tmp_.path()), kMiB);
}

TEST_F(DiskUsageTest, MissingPathIsNotFound) {
  EXPECT_EQ(errorOf([&] { diskUsage(tmp_ / "nope"); }).reason(), Reason::kNotFound);
}

}  // namespace
}  // namespace kite::volumes
