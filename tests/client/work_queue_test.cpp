// The controllers' work queue: de-duplication, the processing set, delays and back-off.

#include "kite/client/work_queue.h"

#include <gtest/gtest.h>

#include <mutex>
#include <set>
#include <thread>
#include <vector>

namespace kite::client {
namespace {

using namespace std::chrono_literals;

TEST(WorkQueue, DeduplicatesQueuedKeys) {
  WorkQueue q;
  q.add("a");
  q.add("b");
  q.add("a");
  EXPECT_EQ(q.len(), 2U);
  EXPECT_EQ(q.get(), "a");
  EXPECT_EQ(q.get(), "b");
  EXPECT_EQ(q.len(), 0U);
}

TEST(WorkQueue, KeyAddedWhileProcessingComesBackAfterDone) {
  WorkQueue q;
  q.add("a");
  ASSERT_EQ(q.get(), "a");
  EXPECT_TRUE(q.processing("a"));
  q.add("a");  // not handed out twice at the same time
  q.add("a");
  EXPECT_EQ(q.len(), 0U);
  EXPECT_EQ(q.getFor(0ms), std::nullopt);
  q.done("a");
  EXPECT_FALSE(q.processing("a"));
  EXPECT_EQ(q.len(), 1U);
  EXPECT_EQ(q.get(), "a");
  q.done("a");
  EXPECT_EQ(q.len(), 0U);
}

TEST(WorkQueue, DoneWithoutNewAddDropsTheKey) {
  WorkQueue q;
  q.add("a");
  ASSERT_EQ(q.get(), "a");
  q.done("a");
  EXPECT_EQ(q.len(), 0U);
  EXPECT_EQ(q.getFor(1ms), std::nullopt);
}

TEST(WorkQueue, AddAfterWaitsThenDelivers) {
  WorkQueue q;
  q.addAfter("later", 20ms);
  EXPECT_EQ(q.len(), 0U);
  EXPECT_EQ(q.delayed(), 1U);
  q.addAfter("later", 10s);  // the earlier time wins
  EXPECT_EQ(q.delayed(), 1U);
  EXPECT_EQ(q.get(), "later");  // blocks until due
  EXPECT_EQ(q.delayed(), 0U);
  q.done("later");
  q.addAfter("now", 0ms);
  EXPECT_EQ(q.len(), 1U);
}

TEST(WorkQueue, RateLimitedBackoffDoublesAndForgetResets) {
  ExponentialRateLimiter limiter(5ms, 100ms);
  EXPECT_EQ(limiter.when("k"), 5ms);
  EXPECT_EQ(limiter.when("k"), 10ms);
  EXPECT_EQ(limiter.when("k"), 20ms);
  EXPECT_EQ(limiter.when("k"), 40ms);
  EXPECT_EQ(limiter.when("k"), 80ms);
  EXPECT_EQ(limiter.when("k"), 100ms);
  for (int i = 0; i < 100; ++i) limiter.when("k");  // no overflow past the cap
  EXPECT_EQ(limiter.when("k"), 100ms);
  EXPECT_EQ(limiter.numRequeues("k"), 107);
  EXPECT_EQ(limiter.when("other"), 5ms);
  limiter.forget("k");
  EXPECT_EQ(limiter.numRequeues("k"), 0);
  EXPECT_EQ(limiter.when("k"), 5ms);
}

TEST(WorkQueue, AddRateLimitedCountsRequeues) {
  WorkQueue q(1ms, 10ms);
  q.addRateLimited("x");
  q.addRateLimited("x");
  EXPECT_EQ(q.numRequeues("x"), 2);
  EXPECT_EQ(q.get(), "x");
  q.done("x");
  q.forget("x");
  EXPECT_EQ(q.numRequeues("x"), 0);
}

TEST(WorkQueue, ShutDownWakesWaitingGetters) {
  WorkQueue q;
  std::optional<std::string> got = "unset";
  std::thread t([&] { got = q.get(); });
  q.shutDown();
  t.join();
  EXPECT_EQ(got, std::nullopt);
  EXPECT_TRUE(q.shuttingDown());
  q.add("ignored");
  EXPECT_EQ(q.len(), 0U);
}

TEST(WorkQueue, ManyWorkersSeeEachKeyOnceAtATime) {
  WorkQueue q;
  std::mutex m;
  std::set<std::string> inFlight;
  bool overlap = false;
  int processed = 0;
  std::vector<std::thread> workers;
  workers.reserve(4);
  for (int w = 0; w < 4; ++w) {
    workers.emplace_back([&] {
      while (auto key = q.get()) {
        {
          std::lock_guard lock(m);
          if (!inFlight.insert(*key).second) overlap = true;
        }
        std::this_thread::yield();
        {
          std::lock_guard lock(m);
          inFlight.erase(*key);
          ++processed;
        }
        q.done(*key);
      }
    });
  }
  for (int i = 0; i < 2000; ++i) q.add("key" + std::to_string(i % 7));
  // Drain: wait until nothing is queued or processing.
  for (;;) {
    bool busy = q.len() > 0;
    for (int i = 0; i < 7; ++i) busy = busy || q.processing("key" + std::to_string(i));
    if (!busy) break;
    std::this_thread::sleep_for(1ms);
  }
  q.shutDown();
  for (auto& t : workers) t.join();
  EXPECT_FALSE(overlap);
  EXPECT_GE(processed, 1);
}

}  // namespace
}  // namespace kite::client
