#include "kite/kubelet/server/cri_log.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

namespace kite::kubelet::server {
namespace {

using namespace std::chrono_literals;

class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "kite-crilog-XXXXXX").string();
    path = mkdtemp(pattern.data());
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  std::filesystem::path path;
};

void append(const std::filesystem::path& file, const std::string& text) {
  std::ofstream out(file, std::ios::app | std::ios::binary);
  out << text;
}

std::string readAll(const std::string& file, const LogOptions& options) {
  std::string out;
  readContainerLog(
      file, options,
      [&](std::string data) {
        out += data;
        return true;
      },
      [] { return false; });
  return out;
}

constexpr const char* kLog =
    "2024-01-01T00:00:01.000000001Z stdout F one\n"
    "2024-01-01T00:00:02Z stderr P tw\n"
    "2024-01-01T00:00:02.5Z stderr F o\n"
    "garbage line\n"
    "2024-01-01T00:00:03+01:00 stdout F zero\n"  // 23:00:03 the day before
    "2024-01-01T00:00:04Z stdout F three\n";

TEST(Rfc3339Test, ParsesNanosAndOffsets) {
  const auto a = parseRfc3339("2024-01-01T00:00:01.000000001Z");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->time_since_epoch().count() % 1000000000, 1);
  const auto b = parseRfc3339("2024-01-01T01:00:01.000000001+01:00");
  ASSERT_TRUE(b);
  EXPECT_EQ(*a, *b);
  EXPECT_FALSE(parseRfc3339("2024-01-01 00:00:01Z"));
  EXPECT_FALSE(parseRfc3339("2024-13-01T00:00:01Z"));
  EXPECT_FALSE(parseRfc3339("2024-01-01T00:00:01"));
  EXPECT_FALSE(parseRfc3339("2024-01-01T00:00:01.Z"));
}

TEST(CriLogParserTest, JoinsPartialLinesAndSkipsGarbage) {
  CriLogParser parser;
  auto entries = parser.feed(kLog);
  ASSERT_EQ(entries.size(), 4U);
  EXPECT_EQ(entries[0].message, "one\n");
  EXPECT_EQ(entries[0].stream, "stdout");
  EXPECT_EQ(entries[1].message, "two\n");
  EXPECT_EQ(entries[1].stream, "stderr");
  EXPECT_EQ(entries[1].timestamp, "2024-01-01T00:00:02Z");
  EXPECT_EQ(entries[2].message, "zero\n");
  EXPECT_EQ(entries[3].message, "three\n");
}

TEST(CriLogParserTest, WaitsForTheRestOfALine) {
  CriLogParser parser;
  EXPECT_TRUE(parser.feed("2024-01-01T00:00:01Z stdout F he").empty());
  const auto entries = parser.feed("llo\n");
  ASSERT_EQ(entries.size(), 1U);
  EXPECT_EQ(entries[0].message, "hello\n");
  EXPECT_TRUE(parser.feed("2024-01-01T00:00:01Z stdout P part\n").empty());
  const auto partial = parser.flushPartial();
  ASSERT_TRUE(partial);
  EXPECT_EQ(partial->message, "part");
}

TEST(LogOptionsTest, ParsesQuery) {
  const auto now = *parseRfc3339("2024-01-01T00:00:10Z");
  auto o =
      parseLogOptions("follow=true&tailLines=2&timestamps=1&limitBytes=10&previous=false", now);
  EXPECT_TRUE(o.follow);
  EXPECT_EQ(*o.tailLines, 2);
  EXPECT_TRUE(o.timestamps);
  EXPECT_EQ(*o.limitBytes, 10);
  EXPECT_FALSE(o.previous);
  o = parseLogOptions("sinceSeconds=5", now);
  EXPECT_EQ(*o.since, *parseRfc3339("2024-01-01T00:00:05Z"));
  o = parseLogOptions("sinceTime=2024-01-01T00%3A00%3A03Z", now);
  EXPECT_EQ(*o.since, *parseRfc3339("2024-01-01T00:00:03Z"));
  EXPECT_THROW(parseLogOptions("tailLines=x", now), std::invalid_argument);
  EXPECT_THROW(parseLogOptions("tailLines=-1", now), std::invalid_argument);
  EXPECT_THROW(parseLogOptions("limitBytes=0", now), std::invalid_argument);
  EXPECT_THROW(parseLogOptions("sinceSeconds=0", now), std::invalid_argument);
  EXPECT_THROW(parseLogOptions("sinceTime=yesterday", now), std::invalid_argument);
  EXPECT_THROW(parseLogOptions("follow=maybe", now), std::invalid_argument);
}

TEST(ReadContainerLogTest, AppliesOptions) {
  TempDir dir;
  const auto file = (dir.path / "0.log").string();
  append(file, kLog);
  LogOptions all;
  EXPECT_EQ(readAll(file, all), "one\ntwo\nzero\nthree\n");
  LogOptions tail;
  tail.tailLines = 2;
  EXPECT_EQ(readAll(file, tail), "zero\nthree\n");
  tail.tailLines = 0;
  EXPECT_EQ(readAll(file, tail), "");
  LogOptions since;
  since.since = parseRfc3339("2024-01-01T00:00:02Z");
  EXPECT_EQ(readAll(file, since), "two\nthree\n");
  since.tailLines = 1;
  EXPECT_EQ(readAll(file, since), "three\n");
  LogOptions stamped;
  stamped.timestamps = true;
  stamped.tailLines = 1;
  EXPECT_EQ(readAll(file, stamped), "2024-01-01T00:00:04Z three\n");
  LogOptions limited;
  limited.limitBytes = 6;
  EXPECT_EQ(readAll(file, limited), "one\ntw");
  EXPECT_THROW(readAll((dir.path / "missing.log").string(), all), std::runtime_error);
}

TEST(ReadContainerLogTest, FollowsGrowthAndRotation) {
  TempDir dir;
  const auto file = dir.path / "0.log";
  append(file, "2024-01-01T00:00:01Z stdout F first\n");
  std::string out;
  std::mutex mutex;
  std::atomic<bool> keep{true};
  LogOptions options;
  options.follow = true;
  std::thread reader([&] {
    readContainerLog(
        file.string(), options,
        [&](std::string data) {
          const std::lock_guard lock(mutex);
          out += data;
          return true;
        },
        [&] { return keep.load(); }, 20ms);
  });
  auto waitFor = [&](const std::string& wanted) {
    for (int i = 0; i < 250; ++i) {
      {
        const std::lock_guard lock(mutex);
        if (out.find(wanted) != std::string::npos) return true;
      }
      std::this_thread::sleep_for(20ms);
    }
    return false;
  };
  EXPECT_TRUE(waitFor("first\n"));
  append(file, "2024-01-01T00:00:02Z stdout F second\n");
  EXPECT_TRUE(waitFor("second\n"));
  // Rotation as the kubelet's log manager does it: the file is renamed and a new one started.
  std::filesystem::rename(file, dir.path / "0.log.20240101-000003");
  append(file, "2024-01-01T00:00:04Z stdout F after rotation\n");
  EXPECT_TRUE(waitFor("after rotation\n"));
  keep = false;
  reader.join();
  EXPECT_EQ(out, "first\nsecond\nafter rotation\n");
}

}  // namespace
}  // namespace kite::kubelet::server
