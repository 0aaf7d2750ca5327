#include "kite/api/time.h"

#include <gtest/gtest.h>

namespace kite::api {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(Time, ParseAndFormat) {
  const Time t = Time::parse("2024-05-14T09:12:44Z");
  EXPECT_EQ(t.rfc3339(), "2024-05-14T09:12:44Z");
  EXPECT_EQ(t.rfc3339Micro(), "2024-05-14T09:12:44.000000Z");
  EXPECT_EQ(t.rfc3339Nano(), "2024-05-14T09:12:44Z");
  EXPECT_EQ(t.timePoint().time_since_epoch(), seconds(1715677964));
}

TEST(Time, FractionsAndOffsets) {
  const Time t = Time::parse("2024-05-14T11:12:44.123456789+02:00");
  EXPECT_EQ(t.rfc3339(), "2024-05-14T09:12:44Z");  // UTC, seconds precision
  EXPECT_EQ(t.rfc3339Micro(), "2024-05-14T09:12:44.123456Z");
  EXPECT_EQ(t.rfc3339Nano(), "2024-05-14T09:12:44.123456789Z");
  EXPECT_EQ(Time::parse("2024-05-14T09:12:44.5Z").rfc3339Nano(), "2024-05-14T09:12:44.5Z");
  EXPECT_EQ(Time::parse("1970-01-01T00:00:00-01:30").timePoint().time_since_epoch(), seconds(5400));
  EXPECT_EQ(Time::parse("1969-12-31T23:59:59.250Z").rfc3339Micro(), "1969-12-31T23:59:59.250000Z");
}

TEST(Time, ZeroIsUnset) {
  const Time t;
  EXPECT_TRUE(t.isZero());
  EXPECT_EQ(t.rfc3339(), "");
  EXPECT_LT(Time(), Time::now());
  EXPECT_EQ(Time(), Time());
}

TEST(Time, Rejects) {
  for (const char* s :
       {"", "2024-05-14", "2024-05-14T09:12:44", "2024-13-01T00:00:00Z", "2024-02-30T00:00:00Z",
        "2024-05-14T25:00:00Z", "2024-05-14 09:12:44Z", "2024-05-14T09:12:44.Z",
        "2024-05-14T09:12:44+0200", "2024-05-14T09:12:44Zjunk", "9999-01-01T00:00:00Z"}) {
    EXPECT_FALSE(Time::tryParse(s).has_value()) << s;
  }
  EXPECT_THROW(Time::parse("yesterday"), std::invalid_argument);
}

TEST(Time, Ordering) {
  const Time a = Time::parse("2024-05-14T09:12:44Z");
  const Time b(a.timePoint() + milliseconds(1));
  EXPECT_LT(a, b);
  EXPECT_NE(a, b);
}

}  // namespace
}  // namespace kite::api
