#include "kite/base/keyed_executor.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <latch>

namespace kite::base {
namespace {

using namespace std::chrono_literals;

TEST(KeyedExecutor, SameKeyNeverOverlapsAndCoalesces) {
  KeyedExecutor executor(4);
  std::atomic<int> concurrent{0};
  std::atomic<int> maxConcurrent{0};
  std::atomic<int> runs{0};
  auto work = [&] {
    const int now = ++concurrent;
    maxConcurrent = std::max(maxConcurrent.load(), now);
    std::this_thread::sleep_for(20ms);
    --concurrent;
    ++runs;
  };
  for (int i = 0; i < 50; ++i) executor.submit("pod-a", work);
  executor.waitIdle();
  EXPECT_EQ(maxConcurrent.load(), 1);
  // The first run started at once; the other 49 submissions collapsed into at
  // most one waiting run.
  EXPECT_LE(runs.load(), 2);
  EXPECT_GE(runs.load(), 1);
}

TEST(KeyedExecutor, DifferentKeysRunInParallel) {
  KeyedExecutor executor(3);
  std::latch allStarted(3);
  std::atomic<int> done{0};
  for (const char* key : {"a", "b", "c"}) {
    executor.submit(key, [&] {
      allStarted.arrive_and_wait();  // deadlocks unless all three run at once
      ++done;
    });
  }
  executor.waitIdle();
  EXPECT_EQ(done.load(), 3);
}

TEST(KeyedExecutor, WorkSubmittedWhileRunningRunsAfterwards) {
  KeyedExecutor executor(2);
  std::atomic<bool> release{false};
  std::atomic<bool> started{false};
  std::vector<int> order;
  std::mutex orderMutex;
  executor.submit("k", [&] {
    started = true;
    while (!release) std::this_thread::sleep_for(1ms);
    std::lock_guard lock(orderMutex);
    order.push_back(1);
  });
  while (!started) std::this_thread::sleep_for(1ms);
  EXPECT_TRUE(executor.busy("k"));
  executor.submit("k", [&] {
    std::lock_guard lock(orderMutex);
    order.push_back(2);
  });
  release = true;
  executor.waitIdle();
  EXPECT_EQ(order, (std::vector<int>{1, 2}));
  EXPECT_FALSE(executor.busy("k"));
}

TEST(KeyedExecutor, AThrowingTaskDoesNotStopTheWorkers) {
  KeyedExecutor executor(1);
  executor.submit("bad", [] { throw std::runtime_error("boom"); });
  std::atomic<bool> ran{false};
  executor.submit("good", [&] { ran = true; });
  executor.waitIdle();
  EXPECT_TRUE(ran.load());
}

// A general thread held by long work; urgent work still runs on the urgent-only thread,
// which never takes normal work.
TEST(KeyedExecutor, UrgentWorkRunsBesideBusyGeneralThreads) {
  KeyedExecutor executor(1, 1);
  std::atomic<bool> release{false};
  std::atomic<bool> normalRan{false};
  std::promise<void> urgentRan;
  executor.submit("slow", [&] {
    while (!release) std::this_thread::sleep_for(1ms);
  });
  executor.submit("normal", [&] { normalRan = true; });
  executor.submit(
      "stop", [&] { urgentRan.set_value(); }, KeyedExecutor::Lane::Urgent);
  // Only the urgent-only thread can take it while the general one is held.
  EXPECT_EQ(urgentRan.get_future().wait_for(10s), std::future_status::ready);
  std::this_thread::sleep_for(50ms);
  EXPECT_FALSE(normalRan.load());
  release = true;
  executor.waitIdle();
  EXPECT_TRUE(normalRan.load());
}

// Work already waiting in the normal lane becomes urgent when urgent work replaces it.
TEST(KeyedExecutor, WaitingWorkIsUpgradedToUrgent) {
  KeyedExecutor executor(1, 1);
  std::atomic<bool> release{false};
  std::promise<void> ran;
  std::atomic<int> which{0};
  executor.submit("slow", [&] {
    while (!release) std::this_thread::sleep_for(1ms);
  });
  executor.submit("pod", [&] { which = 1; });
  executor.submit(
      "pod",
      [&] {
        which = 2;
        ran.set_value();
      },
      KeyedExecutor::Lane::Urgent);
  // The general thread is still held: only the urgent-only thread can run it.
  EXPECT_EQ(ran.get_future().wait_for(10s), std::future_status::ready);
  EXPECT_EQ(which.load(), 2);
  release = true;
  executor.waitIdle();
}

// One key never runs twice at once, whichever lanes its work comes in.
TEST(KeyedExecutor, SameKeyNeverOverlapsAcrossLanes) {
  KeyedExecutor executor(2, 2);
  std::atomic<int> concurrent{0};
  std::atomic<int> maxConcurrent{0};
  auto work = [&] {
    const int now = ++concurrent;
    maxConcurrent = std::max(maxConcurrent.load(), now);
    std::this_thread::sleep_for(2ms);
    --concurrent;
  };
  for (int i = 0; i < 200; ++i) {
    executor.submit("pod", work,
                    i % 2 == 0 ? KeyedExecutor::Lane::Urgent : KeyedExecutor::Lane::Normal);
    if (i % 10 == 0) std::this_thread::sleep_for(1ms);
  }
  executor.waitIdle();
  EXPECT_EQ(maxConcurrent.load(), 1);
  EXPECT_FALSE(executor.busy("pod"));
}

}  // namespace
}  // namespace kite::base
