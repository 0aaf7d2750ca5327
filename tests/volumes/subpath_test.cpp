#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <memory>
#include <string>

#include "kite/volumes/error.h"
#include "kite/volumes/mounter.h"
#include "kite/volumes/subpath.h"
#include "test_util.h"

namespace kite::volumes {
namespace {

using testing::errorOf;
using testing::TempDir;

TEST(ValidateSubPath, AbsolutePathIsRefusedWithUpstreamWording) {
  const auto e = errorOf([] { validateSubPath("/etc"); });
  EXPECT_EQ(e.reason(), Reason::kInvalid);
  EXPECT_STREQ(e.what(), "error SubPath `/etc` must not be an absolute path");
}

TEST(ValidateSubPath, BackstepsAreRefusedWithUpstreamWording) {
  for (const std::string subPath : {"..", "../x", "a/../../x", "a/.."}) {
    const auto e = errorOf([&] { validateSubPath(subPath); });
    EXPECT_EQ(e.reason(), Reason::kInvalid);
    EXPECT_EQ(std::string(e.what()),
              "unable to provision SubPath `" + subPath + "`: must not contain '..'");
  }
  EXPECT_NO_THROW(validateSubPath("a/..b/c.."));
  EXPECT_NO_THROW(validateSubPath("a/./b"));
}

TEST(ExpandSubPathExpr, ReplacesReferencesWithValues) {
  const std::map<std::string, std::string> env{{"POD_NAME", "web-0"}, {"NS", "prod"}};
  EXPECT_EQ(expandSubPathExpr("$(NS)/$(POD_NAME)/logs", env), "prod/web-0/logs");
  EXPECT_EQ(expandSubPathExpr("static", env), "static");
}

TEST(ExpandSubPathExpr, EscapesAndNonReferencesStayAsWritten) {
  const std::map<std::string, std::string> env{{"A", "a"}};
  EXPECT_EQ(expandSubPathExpr("$$(A)", env), "$(A)");
  EXPECT_EQ(expandSubPathExpr("x$$y", env), "x$y");
  EXPECT_EQ(expandSubPathExpr("$A-$(A)", env), "$A-a");
  EXPECT_EQ(expandSubPathExpr("$(A", env), "$(A");
  EXPECT_EQ(expandSubPathExpr("end$", env), "end$");
}

TEST(ExpandSubPathExpr, MissingOrEmptyVariablesAreErrorsNamingThemSorted) {
  const std::map<std::string, std::string> env{{"EMPTY", ""}, {"A", "a"}};
  const auto e = errorOf([&] { expandSubPathExpr("$(ZED)/$(A)/$(EMPTY)/$(ZED)", env); });
  EXPECT_EQ(e.reason(), Reason::kInvalid);
  EXPECT_STREQ(e.what(), "missing value for EMPTY, ZED");
}

TEST(ExpandSubPathExpr, ResultMustNotBeAbsoluteOrEscape) {
  EXPECT_STREQ(errorOf([] {
                 expandSubPathExpr("$(P)", {{"P", "/etc"}});
               }).what(),
               "error SubPath `/etc` must not be an absolute path");
  EXPECT_STREQ(errorOf([] {
                 expandSubPathExpr("a/$(P)", {{"P", ".."}});
               }).what(),
               "unable to provision SubPath `a/..`: must not contain '..'");
}

class ResolveSubPathTest : public ::testing::Test {
 protected:
  void SetUp() override {
    volume_ = tmp_ / "volume";
    ASSERT_EQ(::mkdir(volume_.c_str(), 0755), 0);
  }
  TempDir tmp_;
  std::string volume_;
};

TEST_F(ResolveSubPathTest, ExistingDirectoryOrFileResolvesInsideTheVolume) {
  ASSERT_EQ(::mkdir((volume_ + "/data").c_str(), 0755), 0);
  testing::writeFile(volume_ + "/data/app.conf", "x");
  EXPECT_EQ(resolveSubPath(volume_, "data"), volume_ + "/data");
  EXPECT_EQ(resolveSubPath(volume_, "./data//app.conf"), volume_ + "/data/app.conf");
  EXPECT_EQ(resolveSubPath(volume_, "."), volume_);
}

TEST_F(ResolveSubPathTest, MissingDirectoriesAreCreatedWithTheVolumesMode) {
  const testing::UmaskGuard umask(077);
  ASSERT_EQ(::chmod(volume_.c_str(), 02775), 0);  // what fsGroup leaves on a volume
  EXPECT_EQ(resolveSubPath(volume_, "a/b"), volume_ + "/a/b");
  EXPECT_EQ(testing::permissions(volume_ + "/a"), 02775U);
  EXPECT_EQ(testing::permissions(volume_ + "/a/b"), 02775U);
}

TEST_F(ResolveSubPathTest, BackstepsAndAbsolutePathsAreRefused) {
  EXPECT_EQ(errorOf([&] { resolveSubPath(volume_, "../volume"); }).reason(), Reason::kInvalid);
  EXPECT_EQ(errorOf([&] { resolveSubPath(volume_, volume_); }).reason(), Reason::kInvalid);
  EXPECT_FALSE(testing::exists(tmp_ / "volume/volume"));
}

TEST_F(ResolveSubPathTest, SymlinkToEtcIsRefused) {
  ASSERT_EQ(::symlink("/etc", (volume_ + "/link").c_str()), 0);
  for (const char* subPath : {"link", "link/passwd"}) {
    const auto e = errorOf([&] { resolveSubPath(volume_, subPath); });
    EXPECT_EQ(e.reason(), Reason::kForbidden) << subPath;
    EXPECT_NE(std::string(e.what()).find("not within volume path"), std::string::npos) << e.what();
  }
}

TEST_F(ResolveSubPathTest, RelativeSymlinkClimbingOutIsRefused) {
  ASSERT_EQ(::mkdir((tmp_ / "secret").c_str(), 0700), 0);
  ASSERT_EQ(::mkdir((volume_ + "/d").c_str(), 0755), 0);
  ASSERT_EQ(::symlink("../../secret", (volume_ + "/d/up").c_str()), 0);
  EXPECT_EQ(errorOf([&] { resolveSubPath(volume_, "d/up"); }).reason(), Reason::kForbidden);
  // Creating below an escaping symlink is refused too, and creates nothing outside.
  EXPECT_EQ(errorOf([&] { resolveSubPath(volume_, "d/up/new"); }).reason(), Reason::kForbidden);
  EXPECT_FALSE(testing::exists(tmp_ / "secret/new"));
}

TEST_F(ResolveSubPathTest, SymlinkStayingInsideTheVolumeIsAllowed) {
  ASSERT_EQ(::mkdir((volume_ + "/real").c_str(), 0755), 0);
  ASSERT_EQ(::symlink("real", (volume_ + "/alias").c_str()), 0);
  ASSERT_EQ(::symlink((volume_ + "/real").c_str(), (volume_ + "/absolute").c_str()), 0);
  EXPECT_EQ(resolveSubPath(volume_, "alias"), volume_ + "/real");
  EXPECT_EQ(resolveSubPath(volume_, "absolute"), volume_ + "/real");
}

class SubPathMounterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    KITE_REQUIRE_ROOT();
    volume_ = tmp_ / "pod/volumes/kubernetes.io~empty-dir/data";
    std::filesystem::create_directories(volume_);
    ASSERT_EQ(::mkdir((volume_ + "/logs").c_str(), 0755), 0);
    testing::writeFile(volume_ + "/logs/app.log", "log line");
  }

  SubPathMount request(const std::string& subPath, int index = 0) const {
    return {volume_, subPath, tmp_ / "pod", "data", "app", index};
  }

  TempDir tmp_;
  std::string volume_;
  std::unique_ptr<Mounter> mounter_ = newSystemMounter();
  SubPathMounter subPaths_{*mounter_};
};

TEST_F(SubPathMounterTest, BindMountsTheSubPathUnderVolumeSubpaths) {
  const std::string target = subPaths_.prepare(request("logs", 2));
  EXPECT_EQ(target, tmp_ / "pod/volume-subpaths/data/app/2");
  EXPECT_TRUE(mounter_->isMountPoint(target));
  EXPECT_EQ(testing::readFile(target + "/app.log"), "log line");
  testing::writeFile(target + "/new.log", "from the container");
  EXPECT_EQ(testing::readFile(volume_ + "/logs/new.log"), "from the container");
}

TEST_F(SubPathMounterTest, FileSubPathIsBoundOntoAFile) {
  const std::string target = subPaths_.prepare(request("logs/app.log"));
  EXPECT_TRUE(S_ISREG(testing::lstatOf(target).st_mode));
  EXPECT_EQ(testing::readFile(target), "log line");
}

TEST_F(SubPathMounterTest, PrepareAgainReusesTheMountOrReplacesAStaleOne) {
  const std::string target = subPaths_.prepare(request("logs"));
  EXPECT_EQ(subPaths_.prepare(request("logs")), target);
  EXPECT_EQ(testing::mountsBelow(target).size(), 1U);
  ASSERT_EQ(::mkdir((volume_ + "/other").c_str(), 0755), 0);
  testing::writeFile(volume_ + "/other/marker", "other");
  EXPECT_EQ(subPaths_.prepare(request("other")), target);
  EXPECT_EQ(testing::mountsBelow(target).size(), 1U);
  EXPECT_EQ(testing::readFile(target + "/marker"), "other");
}

TEST_F(SubPathMounterTest, MissingSubPathDirectoryIsCreatedInsideTheVolume) {
  const std::string target = subPaths_.prepare(request("new/dir"));
  EXPECT_TRUE(S_ISDIR(testing::statOf(volume_ + "/new/dir").st_mode));
  testing::writeFile(target + "/f", "x");
  EXPECT_TRUE(testing::exists(volume_ + "/new/dir/f"));
}

TEST_F(SubPathMounterTest, SymlinkToEtcIsRefusedAndNothingIsMounted) {
  ASSERT_EQ(::symlink("/etc", (volume_ + "/link").c_str()), 0);
  const auto e = errorOf([&] { subPaths_.prepare(request("link")); });
  EXPECT_EQ(e.reason(), Reason::kForbidden);
  // The pod event does not learn host paths; the log does.
  EXPECT_STREQ(e.what(), "failed to prepare subPath for volumeMount \"data\" of container \"app\"");
  EXPECT_NE(e.detail().find("/etc"), std::string::npos) << e.detail();
  EXPECT_TRUE(testing::mountsBelow(tmp_.path()).empty());
  EXPECT_FALSE(testing::exists(tmp_ / "pod/volume-subpaths/data/app/0"));
}

TEST_F(SubPathMounterTest, InvalidSubPathsKeepTheirOwnMessage) {
  EXPECT_STREQ(errorOf([&] { subPaths_.prepare(request("../x")); }).what(),
               "unable to provision SubPath `../x`: must not contain '..'");
  EXPECT_STREQ(errorOf([&] { subPaths_.prepare(request("/x")); }).what(),
               "error SubPath `/x` must not be an absolute path");
}

TEST_F(SubPathMounterTest, CleanUpUnmountsAndRemovesEverything) {
  subPaths_.prepare(request("logs", 0));
  subPaths_.prepare(request("logs/app.log", 1));
  subPaths_.prepare({volume_, "logs", tmp_ / "pod", "data", "sidecar", 0});
  ASSERT_EQ(testing::mountsBelow(tmp_.path()).size(), 3U);
  subPaths_.cleanUp(tmp_ / "pod", "data");
  EXPECT_TRUE(testing::mountsBelow(tmp_.path()).empty());
  EXPECT_FALSE(testing::exists(tmp_ / "pod/volume-subpaths"));
  EXPECT_EQ(testing::readFile(volume_ + "/logs/app.log"), "log line") << "volume untouched";
  EXPECT_NO_THROW(subPaths_.cleanUp(tmp_ / "pod", "data"));
}

}  // namespace
}  // namespace kite::volumes
