#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <string>

#include "kite/volumes/error.h"
#include "kite/volumes/local_volume.h"
#include "test_util.h"

namespace kite::volumes {
namespace {

using testing::errorOf;
using testing::TempDir;

class LocalVolumeTest : public ::testing::Test {
 protected:
  void makeBlockDevice(const std::string& path) {
    ASSERT_EQ(::mknod(path.c_str(), S_IFBLK | 0600, makedev(7, 0)), 0);
  }
  TempDir tmp_;
};

TEST_F(LocalVolumeTest, FilesystemModeAcceptsADirectoryAlsoThroughASymlink) {
  ASSERT_EQ(::mkdir((tmp_ / "disk").c_str(), 0755), 0);
  ASSERT_EQ(::symlink("disk", (tmp_ / "link").c_str()), 0);
  EXPECT_NO_THROW(checkLocalVolume(tmp_ / "disk", VolumeMode::kFilesystem));
  EXPECT_NO_THROW(checkLocalVolume(tmp_ / "link", VolumeMode::kFilesystem));
}

TEST_F(LocalVolumeTest, BlockModeAcceptsABlockDevice) {
  KITE_REQUIRE_ROOT();
  makeBlockDevice(tmp_ / "loop");
  EXPECT_NO_THROW(checkLocalVolume(tmp_ / "loop", VolumeMode::kBlock));
}

TEST_F(LocalVolumeTest, BlockModeRefusesADirectory) {
  const auto e = errorOf([&] { checkLocalVolume(tmp_.path(), VolumeMode::kBlock); });
  EXPECT_EQ(e.reason(), Reason::kTypeMismatch);
  EXPECT_EQ(std::string(e.what()), "local volume " + tmp_.path() +
                                       " is not a block device, it's a Directory (volumeMode "
                                       "Block needs one)");
}

TEST_F(LocalVolumeTest, FilesystemModeOnABlockDeviceIsNotSupportedYet) {
  KITE_REQUIRE_ROOT();
  makeBlockDevice(tmp_ / "loop");
  EXPECT_EQ(errorOf([&] { checkLocalVolume(tmp_ / "loop", VolumeMode::kFilesystem); }).reason(),
            Reason::kNotSupported);
}

TEST_F(LocalVolumeTest, FilesystemModeRefusesAFile) {
  testing::writeFile(tmp_ / "file", "x");
  const auto e = errorOf([&] { checkLocalVolume(tmp_ / "file", VolumeMode::kFilesystem); });
  EXPECT_EQ(e.reason(), Reason::kTypeMismatch);
  EXPECT_NE(
      std::string(e.what()).find("only directory and block device are supported, it's a File"),
      std::string::npos);
}

TEST_F(LocalVolumeTest, MissingEmptyOrEscapingPathsAreRefused) {
  const auto missing = errorOf([&] { checkLocalVolume(tmp_ / "nope", VolumeMode::kFilesystem); });
  EXPECT_EQ(missing.reason(), Reason::kNotFound);
  EXPECT_EQ(std::string(missing.what()), "path \"" + (tmp_ / "nope") + "\" does not exist");
  EXPECT_EQ(errorOf([] { checkLocalVolume("", VolumeMode::kBlock); }).reason(), Reason::kInvalid);
  EXPECT_EQ(errorOf([&] { checkLocalVolume(tmp_ / "../x", VolumeMode::kFilesystem); }).reason(),
            Reason::kInvalid);
}

}  // namespace
}  // namespace kite::volumes
