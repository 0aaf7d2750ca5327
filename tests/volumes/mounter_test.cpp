#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <memory>
#include <string>

#include "kite/volumes/error.h"
#include "kite/volumes/mounter.h"
#include "test_util.h"

namespace kite::volumes {
namespace {

using testing::errorOf;
using testing::TempDir;

TEST(ParseMountInfo, ReadsFieldsOptionalFieldsAndEscapes) {
  const auto mounts = parseMountInfo(
      "27 1 254:0 / / rw,relatime shared:1 master:2 - ext4 /dev/vda rw,discard\n"
      "42 27 0:39 / /var/lib/kubelet/pods/a\\040b/vol rw,relatime - tmpfs tmpfs rw,size=1024k\n"
      "garbage line\n"
      "43 27 0:40 /sub /mnt/bind ro - ext4 /dev/vdb\n");
  ASSERT_EQ(mounts.size(), 3U);
  EXPECT_EQ(mounts[0].id, 27);
  EXPECT_EQ(mounts[0].parentId, 1);
  EXPECT_EQ(mounts[0].major, 254U);
  EXPECT_EQ(mounts[0].minor, 0U);
  EXPECT_EQ(mounts[0].optionalFields, (std::vector<std::string>{"shared:1", "master:2"}));
  EXPECT_EQ(mounts[0].fsType, "ext4");
  EXPECT_EQ(mounts[0].source, "/dev/vda");
  EXPECT_EQ(mounts[0].superOptions, "rw,discard");
  EXPECT_EQ(mounts[1].mountPoint, "/var/lib/kubelet/pods/a b/vol");
  EXPECT_TRUE(mounts[1].optionalFields.empty());
  EXPECT_EQ(mounts[1].superOptions, "rw,size=1024k");
  EXPECT_EQ(mounts[2].root, "/sub");
  EXPECT_EQ(mounts[2].options, "ro");
  EXPECT_EQ(mounts[2].superOptions, "");
}

TEST(ParseMountInfo, ReadsThisProcessesTable) {
  const auto mounts = readMountInfo();
  ASSERT_FALSE(mounts.empty());
  bool root = false;
  for (const auto& m : mounts) {
    root = root || m.mountPoint == "/";
  }
  EXPECT_TRUE(root);
}

class SystemMounterTest : public ::testing::Test {
 protected:
  void SetUp() override { KITE_REQUIRE_ROOT(); }
  TempDir tmp_;
  std::unique_ptr<Mounter> mounter_ = newSystemMounter();
};

TEST_F(SystemMounterTest, MountsAndUnmountsATmpfsWithData) {
  const std::string dir = tmp_ / "t";
  ASSERT_EQ(::mkdir(dir.c_str(), 0755), 0);
  EXPECT_FALSE(mounter_->isMountPoint(dir));
  mounter_->mount("tmpfs", dir, "tmpfs", {"nosuid", "nodev", "size=2097152", "mode=0750"});
  EXPECT_TRUE(mounter_->isMountPoint(dir));
  EXPECT_EQ(testing::permissions(dir), 0750U);
  bool listed = false;
  for (const auto& m : mounter_->listMounts()) {
    if (m.mountPoint == dir) {
      listed = true;
      EXPECT_NE(m.options.find("nosuid"), std::string::npos);
      EXPECT_NE(m.superOptions.find("size=2048k"), std::string::npos);
    }
  }
  EXPECT_TRUE(listed);
  mounter_->unmount(dir);
  EXPECT_FALSE(mounter_->isMountPoint(dir));
  EXPECT_TRUE(testing::mountsBelow(tmp_.path()).empty());
}

TEST_F(SystemMounterTest, ReadOnlyBindMountIsReadOnlyAndSeenAsMountPoint) {
  // A bind mount within one filesystem: same st_dev as the parent, which a
  // device comparison would miss; mountinfo does not.
  ASSERT_EQ(::mkdir((tmp_ / "src").c_str(), 0755), 0);
  ASSERT_EQ(::mkdir((tmp_ / "dst").c_str(), 0755), 0);
  testing::writeFile(tmp_ / "src/file", "content");
  mounter_->mount(tmp_ / "src", tmp_ / "dst", "", {"bind", "ro"});
  EXPECT_TRUE(mounter_->isMountPoint(tmp_ / "dst"));
  EXPECT_EQ(testing::readFile(tmp_ / "dst/file"), "content");
  std::ofstream out(tmp_ / "dst/new");
  EXPECT_FALSE(out.is_open()) << "the bind mount is writable";
  EXPECT_TRUE(mounter_->isMountPoint(tmp_ / "dst"));
  mounter_->unmount(tmp_ / "dst");
  EXPECT_FALSE(mounter_->isMountPoint(tmp_ / "dst"));
}

TEST_F(SystemMounterTest, ErrorsSayWhatFailed) {
  const auto mount =
      errorOf([&] { mounter_->mount(tmp_ / "nope", tmp_ / "also-nope", "", {"bind"}); });
  EXPECT_EQ(mount.reason(), Reason::kInternal);
  EXPECT_EQ(mount.sysErrno(), ENOENT);
  EXPECT_NE(std::string(mount.what()).find("mount failed: no such file or directory"),
            std::string::npos);
  const auto unmount = errorOf([&] { mounter_->unmount(tmp_.path()); });
  EXPECT_EQ(unmount.sysErrno(), EINVAL) << "not a mount point";
  EXPECT_NE(std::string(unmount.what()).find(tmp_.path()), std::string::npos);
}

TEST_F(SystemMounterTest, MissingPathOrDanglingSymlinkIsNoMountPoint) {
  EXPECT_FALSE(mounter_->isMountPoint(tmp_ / "nope"));
  ASSERT_EQ(::symlink("nope", (tmp_ / "dangling").c_str()), 0);
  EXPECT_FALSE(mounter_->isMountPoint(tmp_ / "dangling"));
  EXPECT_TRUE(mounter_->isMountPoint("/"));
}

TEST(VolumeError, CarriesReasonDetailAndErrno) {
  const VolumeError e(Reason::kForbidden, "shown to users", "for the log", EPERM);
  EXPECT_STREQ(e.what(), "shown to users");
  EXPECT_EQ(e.detail(), "for the log");
  EXPECT_EQ(e.sysErrno(), EPERM);
  EXPECT_STREQ(reasonName(Reason::kForbidden), "Forbidden");
  EXPECT_STREQ(reasonName(Reason::kInternal), "InternalError");
  EXPECT_STREQ(reasonName(Reason::kNotFound), "NotFound");
}

}  // namespace
}  // namespace kite::volumes
