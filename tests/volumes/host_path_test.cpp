#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "kite/volumes/error.h"
#include "kite/volumes/host_path.h"
#include "test_util.h"

namespace kite::volumes {
namespace {

using testing::errorOf;
using testing::TempDir;

enum class Kind { kDirectory, kFile, kSocket, kCharDevice, kBlockDevice };

void create(Kind kind, const std::string& path) {
  switch (kind) {
    case Kind::kDirectory:
      ASSERT_EQ(::mkdir(path.c_str(), 0700), 0);
      break;
    case Kind::kFile:
      testing::writeFile(path, "x");
      break;
    case Kind::kSocket: {
      // A bound AF_UNIX socket leaves a socket file behind, also once closed.
      const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
      ASSERT_GE(fd, 0);
      sockaddr_un addr{};
      addr.sun_family = AF_UNIX;
      ASSERT_LT(path.size(), sizeof addr.sun_path);
      std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
      const int rc = ::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
      ::close(fd);
      ASSERT_EQ(rc, 0) << std::strerror(errno);
      break;
    }
    case Kind::kCharDevice:  // like /dev/null
      ASSERT_EQ(::mknod(path.c_str(), S_IFCHR | 0600, makedev(1, 3)), 0) << std::strerror(errno);
      break;
    case Kind::kBlockDevice:  // like /dev/loop0; never opened
      ASSERT_EQ(::mknod(path.c_str(), S_IFBLK | 0600, makedev(7, 0)), 0) << std::strerror(errno);
      break;
  }
}

struct TypeCase {
  std::string type;
  Kind right;
  Kind wrong;
  std::string expectedWording;  // "is not a ..., it's a ..." for the wrong kind
};

void PrintTo(const TypeCase& c, std::ostream* os) { *os << c.type; }

class HostPathTypeTest : public ::testing::TestWithParam<TypeCase> {
 protected:
  void SetUp() override { KITE_REQUIRE_ROOT(); }
  TempDir tmp_;
};

TEST_P(HostPathTypeTest, RightKindPasses) {
  const std::string path = tmp_ / "thing";
  create(GetParam().right, path);
  EXPECT_EQ(checkHostPath(path, GetParam().type), path);
}

TEST_P(HostPathTypeTest, WrongKindFailsWithUpstreamWording) {
  const std::string path = tmp_ / "thing";
  create(GetParam().wrong, path);
  const auto e = errorOf([&] { checkHostPath(path, GetParam().type); });
  EXPECT_EQ(e.reason(), Reason::kTypeMismatch);
  EXPECT_EQ(std::string(e.what()),
            "hostPath type check failed: " + path + " " + GetParam().expectedWording);
}

TEST_P(HostPathTypeTest, MissingFails) {
  const std::string path = tmp_ / "missing";
  const auto e = errorOf([&] { checkHostPath(path, GetParam().type); });
  EXPECT_EQ(e.reason(), Reason::kNotFound);
  EXPECT_EQ(std::string(e.what()), "hostPath " + path + " doesn't exist");
  EXPECT_FALSE(testing::exists(path));
}

INSTANTIATE_TEST_SUITE_P(
    Types, HostPathTypeTest,
    ::testing::Values(
        TypeCase{"Directory", Kind::kDirectory, Kind::kFile, "is not a directory, it's a File"},
        TypeCase{"File", Kind::kFile, Kind::kDirectory, "is not a file, it's a Directory"},
        TypeCase{"Socket", Kind::kSocket, Kind::kFile, "is not a socket file, it's a File"},
        TypeCase{"CharDevice", Kind::kCharDevice, Kind::kBlockDevice,
                 "is not a character device, it's a BlockDevice"},
        TypeCase{"BlockDevice", Kind::kBlockDevice, Kind::kCharDevice,
                 "is not a block device, it's a CharDevice"}),
    [](const auto& param) { return param.param.type; });

class HostPathTest : public ::testing::Test {
 protected:
  TempDir tmp_;
};

TEST_F(HostPathTest, UnsetTypeChecksNothingAndCreatesNothing) {
  const std::string missing = tmp_ / "missing";
  EXPECT_EQ(checkHostPath(missing, ""), missing);
  EXPECT_EQ(checkHostPath(missing, HostPathType::kUnset), missing);
  EXPECT_FALSE(testing::exists(missing));
  testing::writeFile(tmp_ / "file", "x");
  EXPECT_EQ(checkHostPath(tmp_ / "file", ""), tmp_ / "file");
}

TEST_F(HostPathTest, DirectoryOrCreateAcceptsAnExistingDirectory) {
  ASSERT_EQ(::mkdir((tmp_ / "d").c_str(), 0700), 0);
  EXPECT_EQ(checkHostPath(tmp_ / "d", "DirectoryOrCreate"), tmp_ / "d");
  EXPECT_EQ(testing::permissions(tmp_ / "d"), 0700U) << "an existing directory is left alone";
}

TEST_F(HostPathTest, DirectoryOrCreateRefusesAFile) {
  testing::writeFile(tmp_ / "f", "x");
  const auto e = errorOf([&] { checkHostPath(tmp_ / "f", "DirectoryOrCreate"); });
  EXPECT_EQ(e.reason(), Reason::kTypeMismatch);
  EXPECT_EQ(std::string(e.what()),
            "hostPath type check failed: " + (tmp_ / "f") + " is not a directory, it's a File");
}

TEST_F(HostPathTest, DirectoryOrCreateCreatesMissingDirectoryAndParentsWith0755) {
  const testing::UmaskGuard umask(077);  // the mode must not depend on the kubelet's umask
  const std::string path = tmp_ / "a/b/c";
  EXPECT_EQ(checkHostPath(path, "DirectoryOrCreate"), path);
  const auto st = testing::statOf(path);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0755U);
  EXPECT_EQ(st.st_uid, ::geteuid());
  EXPECT_EQ(st.st_gid, ::getegid());
}

TEST_F(HostPathTest, FileOrCreateAcceptsAnExistingFile) {
  testing::writeFile(tmp_ / "f", "keep");
  EXPECT_EQ(checkHostPath(tmp_ / "f", "FileOrCreate"), tmp_ / "f");
  EXPECT_EQ(testing::readFile(tmp_ / "f"), "keep");
}

TEST_F(HostPathTest, FileOrCreateRefusesADirectory) {
  ASSERT_EQ(::mkdir((tmp_ / "d").c_str(), 0700), 0);
  const auto e = errorOf([&] { checkHostPath(tmp_ / "d", "FileOrCreate"); });
  EXPECT_EQ(e.reason(), Reason::kTypeMismatch);
  EXPECT_EQ(std::string(e.what()),
            "hostPath type check failed: " + (tmp_ / "d") + " is not a file, it's a Directory");
}

TEST_F(HostPathTest, FileOrCreateCreatesAnEmptyFileWith0644) {
  const testing::UmaskGuard umask(077);
  const std::string path = tmp_ / "new.sock";
  EXPECT_EQ(checkHostPath(path, "FileOrCreate"), path);
  const auto st = testing::statOf(path);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(st.st_size, 0);
  EXPECT_EQ(st.st_mode & 07777, 0644U);
  EXPECT_EQ(st.st_uid, ::geteuid());
}

TEST_F(HostPathTest, FileOrCreateDoesNotCreateParentDirectories) {
  // As upstream: os.OpenFile(O_CREATE) without MkdirAll.
  const std::string path = tmp_ / "no/such/dir/file";
  const auto e = errorOf([&] { checkHostPath(path, "FileOrCreate"); });
  EXPECT_EQ(e.reason(), Reason::kNotFound);
  EXPECT_EQ(std::string(e.what()), "open " + path + ": no such file or directory");
  EXPECT_FALSE(testing::exists(tmp_ / "no"));
}

TEST_F(HostPathTest, UnknownTypeIsInvalid) {
  const auto e = errorOf([&] { checkHostPath(tmp_.path(), "Folder"); });
  EXPECT_EQ(e.reason(), Reason::kInvalid);
  EXPECT_STREQ(e.what(), "Folder is an invalid volume type");
  EXPECT_THROW(parseHostPathType("directory"), VolumeError) << "types are case-sensitive";
  EXPECT_EQ(parseHostPathType("BlockDevice"), HostPathType::kBlockDevice);
}

TEST_F(HostPathTest, PathWithBackstepsIsRefusedWhateverTheType) {
  const std::string path = tmp_.path() + "/../etc";
  for (const char* type : {"", "Directory", "DirectoryOrCreate"}) {
    const auto e = errorOf([&] { checkHostPath(path, type); });
    EXPECT_EQ(e.reason(), Reason::kInvalid);
    EXPECT_EQ(std::string(e.what()), "invalid HostPath `" + path + "`: must not contain '..'");
  }
}

TEST_F(HostPathTest, SymlinksAreFollowedAsUpstreamDoes) {
  ASSERT_EQ(::mkdir((tmp_ / "real").c_str(), 0700), 0);
  ASSERT_EQ(::symlink("real", (tmp_ / "link").c_str()), 0);
  EXPECT_EQ(checkHostPath(tmp_ / "link", "Directory"), tmp_ / "link");
  const auto e = errorOf([&] { checkHostPath(tmp_ / "link", "File"); });
  EXPECT_EQ(std::string(e.what()),
            "hostPath type check failed: " + (tmp_ / "link") + " is not a file, it's a Directory");
}

TEST_F(HostPathTest, DanglingSymlinkIsNeverCreatedThrough) {
  ASSERT_EQ(::symlink((tmp_ / "target").c_str(), (tmp_ / "dangling").c_str()), 0);
  for (const char* type : {"FileOrCreate", "DirectoryOrCreate"}) {
    const auto e = errorOf([&] { checkHostPath(tmp_ / "dangling", type); });
    EXPECT_EQ(e.reason(), Reason::kNotFound) << type;
    EXPECT_FALSE(testing::exists(tmp_ / "target")) << type;
  }
}

TEST_F(HostPathTest, UnrecognisedFileTypeSaysSo) {
  ASSERT_EQ(::mkfifo((tmp_ / "fifo").c_str(), 0600), 0);
  const auto e = errorOf([&] { checkHostPath(tmp_ / "fifo", "File"); });
  EXPECT_EQ(e.reason(), Reason::kTypeMismatch);
  EXPECT_EQ(std::string(e.what()),
            "hostPath type check failed, " + (tmp_ / "fifo") +
                " is not a file, unable to determine its type: only recognise file, directory, "
                "socket, block device and character device");
}

}  // namespace
}  // namespace kite::volumes
