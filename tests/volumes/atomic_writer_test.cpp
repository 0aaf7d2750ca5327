#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <string>
#include <thread>
#include <vector>

#include "kite/volumes/atomic_writer.h"
#include "kite/volumes/error.h"
#include "test_util.h"

namespace kite::volumes {
namespace {

using testing::errorOf;
using testing::TempDir;

std::vector<std::string> dataDirs(const std::string& dir) {
  std::vector<std::string> found;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("..", 0) == 0 && name != "..data" && name != "..data_tmp") {
      found.push_back(name);
    }
  }
  return found;
}

std::string linkTarget(const std::string& path) {
  return std::filesystem::read_symlink(path).string();
}

class AtomicWriterTest : public ::testing::Test {
 protected:
  TempDir tmp_;
  AtomicWriter writer_{tmp_.path()};
};

TEST_F(AtomicWriterTest, FirstWriteCreatesDataDirSymlinksAndExactModes) {
  const testing::UmaskGuard umask(077);  // modes must not depend on the umask
  EXPECT_TRUE(writer_.write({{"app.conf", {"a=1\n", 0644, {}}},
                             {"tls/key.pem", {"KEY", 0400, {}}},
                             {"tls/cert.pem", {"CERT", 0644, {}}}}));

  const auto dirs = dataDirs(tmp_.path());
  ASSERT_EQ(dirs.size(), 1U);
  EXPECT_EQ(dirs[0].rfind("..20", 0), 0U) << "a ..<timestamp> directory: " << dirs[0];
  EXPECT_EQ(linkTarget(tmp_ / "..data"), dirs[0]);
  EXPECT_EQ(linkTarget(tmp_ / "app.conf"), "..data/app.conf");
  EXPECT_EQ(linkTarget(tmp_ / "tls"), "..data/tls");
  EXPECT_FALSE(testing::exists(tmp_ / "..data_tmp"));

  EXPECT_EQ(testing::readFile(tmp_ / "app.conf"), "a=1\n");
  EXPECT_EQ(testing::readFile(tmp_ / "tls/key.pem"), "KEY");
  EXPECT_EQ(testing::permissions(tmp_ / "app.conf"), 0644U);
  EXPECT_EQ(testing::permissions(tmp_ / "tls/key.pem"), 0400U);
  EXPECT_EQ(testing::permissions(tmp_ / dirs[0]), 0755U);
  EXPECT_EQ(testing::permissions(tmp_ / (dirs[0] + "/tls")), 0755U);
}

TEST_F(AtomicWriterTest, UpdateSwapsDataAndRemovesTheOldVersion) {
  writer_.write({{"key", {"old", 0644, {}}}});
  const auto before = dataDirs(tmp_.path());
  EXPECT_TRUE(writer_.write({{"key", {"new", 0644, {}}}}));
  const auto after = dataDirs(tmp_.path());
  ASSERT_EQ(after.size(), 1U);
  EXPECT_NE(after[0], before[0]);
  EXPECT_FALSE(testing::exists(tmp_ / before[0]));
  EXPECT_EQ(linkTarget(tmp_ / "..data"), after[0]);
  EXPECT_EQ(testing::readFile(tmp_ / "key"), "new");
}

TEST_F(AtomicWriterTest, SamePayloadWritesNothing) {
  const Payload payload{{"key", {"v", 0644, {}}}, {"d/f", {"w", 0600, {}}}};
  writer_.write(payload);
  const auto before = dataDirs(tmp_.path());
  EXPECT_FALSE(writer_.write(payload));
  EXPECT_EQ(dataDirs(tmp_.path()), before);
}

TEST_F(AtomicWriterTest, ModeChangeAloneIsWritten) {
  writer_.write({{"key", {"v", 0644, {}}}});
  EXPECT_TRUE(writer_.write({{"key", {"v", 0440, {}}}}));
  EXPECT_EQ(testing::permissions(tmp_ / "key"), 0440U);
}

TEST_F(AtomicWriterTest, RemovedKeysLoseTheirVisibleSymlinks) {
  writer_.write({{"keep", {"1", 0644, {}}}, {"gone", {"2", 0644, {}}}, {"dir/a", {"3", 0644, {}}}});
  EXPECT_TRUE(writer_.write({{"keep", {"1", 0644, {}}}}));
  EXPECT_TRUE(testing::exists(tmp_ / "keep"));
  EXPECT_FALSE(testing::exists(tmp_ / "gone"));
  EXPECT_FALSE(testing::exists(tmp_ / "dir"));
  EXPECT_EQ(dataDirs(tmp_.path()).size(), 1U);
}

TEST_F(AtomicWriterTest, InvalidPathsAreRefusedAndNothingIsWritten) {
  const std::vector<std::pair<std::string, std::string>> cases{
      {"", "invalid path: must not be empty: \"\""},
      {"/etc/passwd", "invalid path: must be relative path: /etc/passwd"},
      {"a/../b", "invalid path: must not contain '..': a/../b"},
      {"..", "invalid path: must not contain '..': .."},
      {"..data", "invalid path: must not start with '..': ..data"},
      {"..a/b", "invalid path: must not start with '..': ..a/b"},
      {std::string(256, 'n'),
       "invalid path: filenames must be less than or equal to 255 characters"},
      {std::string(4097, 'p'), "invalid path: must be less than or equal to 4096 characters"},
  };
  for (const auto& [badPath, message] : cases) {
    const std::string& path = badPath;  // lambdas cannot capture structured bindings (C++17)
    const auto e = errorOf([&] {
      writer_.write({{"ok", {"x", 0644, {}}}, {path, {"x", 0644, {}}}});
    });
    EXPECT_EQ(e.reason(), Reason::kInvalid) << path;
    EXPECT_EQ(std::string(e.what()), message);
  }
  EXPECT_TRUE(std::filesystem::is_empty(tmp_.path()));
  EXPECT_EQ(AtomicWriter::validatePath("a//b/./c"), "a/b/c");
  EXPECT_STREQ(errorOf([] { AtomicWriter::validatePath("./..data"); }).what(),
               "invalid path: must not start with '..': ./..data");
  EXPECT_EQ(AtomicWriter::validatePath("a..b/..c"), "a..b/..c");
}

TEST_F(AtomicWriterTest, AFileCannotAlsoBeADirectory) {
  const auto e = errorOf([&] {
    writer_.write({{"a", {"x", 0644, {}}}, {"a/b", {"y", 0644, {}}}});
  });
  EXPECT_EQ(e.reason(), Reason::kInvalid);
  EXPECT_TRUE(std::filesystem::is_empty(tmp_.path()));
}

TEST_F(AtomicWriterTest, TargetDirectoryMustExist) {
  EXPECT_EQ(errorOf([&] { AtomicWriter(tmp_ / "missing"); }).reason(), Reason::kNotFound);
}

TEST_F(AtomicWriterTest, LeftoverDataTmpFromACrashDoesNotBlockWrites) {
  ASSERT_EQ(::symlink("..nowhere", (tmp_ / "..data_tmp").c_str()), 0);
  EXPECT_TRUE(writer_.write({{"key", {"v", 0644, {}}}}));
  EXPECT_EQ(testing::readFile(tmp_ / "key"), "v");
}

TEST_F(AtomicWriterTest, FsGroupAndFsUserOwnTheFiles) {
  KITE_REQUIRE_ROOT();
  writer_.write({{"token", {"t", 0600, 1234}}, {"d/f", {"x", 0400, {}}}}, 5678);
  const auto token = testing::statOf(tmp_ / "token");
  EXPECT_EQ(token.st_uid, 1234U);
  EXPECT_EQ(token.st_gid, 5678U);
  EXPECT_EQ(token.st_mode & 07777, 0640U) << "fsGroup adds group read";
  EXPECT_EQ(testing::permissions(tmp_ / "d/f"), 0440U);
  EXPECT_EQ(testing::statOf(tmp_ / "d").st_gid, 5678U);
  EXPECT_EQ(testing::permissions(tmp_ / "d") & 02000, 02000U);
  // Same payload and group: nothing to do.
  EXPECT_FALSE(writer_.write({{"token", {"t", 0600, 1234}}, {"d/f", {"x", 0400, {}}}}, 5678));
}

TEST_F(AtomicWriterTest, ConcurrentReaderNeverSeesPartialContent) {
  constexpr int kUpdates = 200;
  constexpr std::size_t kSize = std::size_t{256} * 1024;  // many write(2) calls' worth
  auto version = [&](int i) { return std::string(kSize, static_cast<char>('a' + i % 26)); };
  writer_.write({{"key", {version(0), 0644, {}}}});

  std::atomic<bool> done{false};
  std::atomic<int> reads{0};
  std::atomic<int> torn{0};
  std::thread reader([&] {
    const std::string path = tmp_ / "key";
    std::string buffer(kSize + 1, '\0');
    while (!done.load()) {
      const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) {
        continue;  // ENOENT while ..data moves on: retry, as readers must
      }
      std::size_t got = 0;
      ssize_t n = 0;
      while ((n = ::read(fd, buffer.data() + got, buffer.size() - got)) > 0) {
        got += static_cast<std::size_t>(n);
      }
      ::close(fd);
      const std::string content = buffer.substr(0, got);
      if (got != kSize || content.find_first_not_of(content.front()) != std::string::npos) {
        ++torn;
      }
      ++reads;
    }
  });
  for (int i = 1; i <= kUpdates; ++i) {
    writer_.write({{"key", {version(i), 0644, {}}}});
  }
  done = true;
  reader.join();

  RecordProperty("reads", reads.load());
  EXPECT_EQ(torn.load(), 0) << "a reader saw a partial or mixed file";
  EXPECT_GT(reads.load(), 0);
  EXPECT_EQ(testing::readFile(tmp_ / "key"), version(kUpdates));
  EXPECT_EQ(dataDirs(tmp_.path()).size(), 1U);
}

TEST(MakePayload, WithoutItemsEveryKeyWithTheDefaultMode) {
  const auto payload =
      makePayload({{"a", "1"}, {"b", "2"}}, {}, 0440, false, PayloadSource::kConfigMap);
  ASSERT_EQ(payload.size(), 2U);
  EXPECT_EQ(payload.at("a").data, "1");
  EXPECT_EQ(payload.at("b").mode, 0440U);
}

TEST(MakePayload, ItemsPickKeysPathsAndModes) {
  const auto payload = makePayload({{"a", "1"}, {"b", "2"}},
                                   {{"a", "conf/a.txt", 0600}, {"b", "b.txt", std::nullopt}},
                                   kDefaultVolumeFileMode, false, PayloadSource::kSecret);
  ASSERT_EQ(payload.size(), 2U);
  EXPECT_EQ(payload.at("conf/a.txt").mode, 0600U);
  EXPECT_EQ(payload.at("b.txt").mode, 0644U);
}

TEST(MakePayload, MissingKeysAreErrorsUnlessOptional) {
  const std::vector<KeyToPath> items{{"nope", "x", std::nullopt}};
  EXPECT_STREQ(
      errorOf([&] { makePayload({}, items, 0644, false, PayloadSource::kConfigMap); }).what(),
      "configmap references non-existent config key: nope");
  EXPECT_STREQ(errorOf([&] { makePayload({}, items, 0644, false, PayloadSource::kSecret); }).what(),
               "references non-existent secret key: nope");
  EXPECT_TRUE(makePayload({}, items, 0644, true, PayloadSource::kSecret).empty());
}

}  // namespace
}  // namespace kite::volumes
