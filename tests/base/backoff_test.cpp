#include "kite/base/backoff.h"

#include <gtest/gtest.h>

#include "fakes/fake_clock.h"

namespace kite::base {
namespace {

using namespace std::chrono_literals;

TEST(Backoff, DoublesUpToTheMaximum) {
  testing::FakeClock clock;
  Backoff backoff(clock, 10s, 300s);
  EXPECT_EQ(backoff.next("c"), 10s);
  EXPECT_EQ(backoff.next("c"), 20s);
  EXPECT_EQ(backoff.next("c"), 40s);
  EXPECT_EQ(backoff.next("c"), 80s);
  EXPECT_EQ(backoff.next("c"), 160s);
  EXPECT_EQ(backoff.next("c"), 300s);
  EXPECT_EQ(backoff.next("c"), 300s);
  EXPECT_EQ(backoff.get("other"), 0s);
}

TEST(Backoff, InBackoffOnlyWithinTheWindow) {
  testing::FakeClock clock;
  Backoff backoff(clock, 10s, 300s);
  EXPECT_FALSE(backoff.isInBackoffSince("c", clock.now()));
  backoff.next("c");
  const auto failedAt = clock.now();
  clock.advance(9s);
  EXPECT_TRUE(backoff.isInBackoffSince("c", failedAt));
  clock.advance(2s);
  EXPECT_FALSE(backoff.isInBackoffSince("c", failedAt));
}

TEST(Backoff, StartsOverAfterTwiceTheMaximumWithoutFailures) {
  testing::FakeClock clock;
  Backoff backoff(clock, 10s, 300s);
  for (int i = 0; i < 6; ++i) backoff.next("c");
  clock.advance(601s);  // ran fine for 10 minutes
  EXPECT_EQ(backoff.next("c"), 10s);
}

TEST(Backoff, GcForgetsIdleKeys) {
  testing::FakeClock clock;
  Backoff backoff(clock, 10s, 300s);
  backoff.next("c");
  clock.advance(601s);
  backoff.gc();
  EXPECT_EQ(backoff.get("c"), 0s);
}

}  // namespace
}  // namespace kite::base
