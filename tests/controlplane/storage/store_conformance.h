#pragma once
// The conformance suite every kite::controlplane::Store backend passes.
//
// A backend instantiates it in its own test .cpp with a Backend type:
//
//   struct SqliteBackend {
//     SqliteBackend();                   // once per test: make fresh, empty storage
//     std::unique_ptr<Store> open();     // a store over that storage (called once per test)
//   };
//   INSTANTIATE_TYPED_TEST_SUITE_P(Sqlite, StoreConformance, SqliteBackend);
//
// The suite never assumes the store's revision starts at 0 (an etcd backend may share a
// server with other stores); it does assume that nothing else writes under the keys it uses
// while a test runs, and that every successful write bumps the revision by exactly one (the
// etcd semantics store.h documents).
//
// Waits are bounded only as a guard against hangs (kWaitGuard); no assertion depends on
// how fast anything happens.

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "kite/controlplane/store.h"

namespace kite::controlplane::conformance {

inline constexpr std::chrono::seconds kWaitGuard{60};

// Records a watch's events from the store's thread; tests wait on it. Must outlive the Watch
// whose callbacks it provides.
class EventCollector {
 public:
  WatchCallbacks callbacks() {
    WatchCallbacks cb;
    cb.onEvents = [this](const std::vector<WatchEvent>& batch) {
      std::lock_guard lock(mutex_);
      batches_.push_back(batch);
      events_.insert(events_.end(), batch.begin(), batch.end());
      changed_.notify_all();
    };
    cb.onError = [this](const StoreError& error) {
      std::lock_guard lock(mutex_);
      error_ = error;
      changed_.notify_all();
    };
    return cb;
  }

  // Waits until an event with modRevision >= revision arrived (or the hang guard passed).
  bool waitForRevision(Revision revision) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, kWaitGuard, [&] {
      return !events_.empty() && events_.back().kv.modRevision >= revision;
    });
  }

  bool waitForCount(std::size_t count) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, kWaitGuard, [&] { return events_.size() >= count; });
  }

  std::vector<WatchEvent> events() const {
    std::lock_guard lock(mutex_);
    return events_;
  }

  std::size_t size() const {
    std::lock_guard lock(mutex_);
    return events_.size();
  }

  std::vector<std::vector<WatchEvent>> batches() const {
    std::lock_guard lock(mutex_);
    return batches_;
  }

  std::optional<StoreError> error() const {
    std::lock_guard lock(mutex_);
    return error_;
  }

 private:
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<WatchEvent> events_;
  std::vector<std::vector<WatchEvent>> batches_;
  std::optional<StoreError> error_;
};

inline std::vector<std::string> keysOf(const std::vector<KeyValue>& items) {
  std::vector<std::string> keys;
  keys.reserve(items.size());
  for (const auto& kv : items) {
    keys.push_back(kv.key);
  }
  return keys;
}

inline std::vector<Revision> revisionsOf(const std::vector<WatchEvent>& events) {
  std::vector<Revision> revisions;
  revisions.reserve(events.size());
  for (const auto& event : events) {
    revisions.push_back(event.kv.modRevision);
  }
  return revisions;
}

// The code of the StoreError `fn` throws, or nullopt when it throws none.
template <typename Fn>
std::optional<StoreErrorCode> errorCodeOf(Fn&& fn) {
  try {
    std::forward<Fn>(fn)();
  } catch (const StoreError& error) {
    return error.code();
  }
  return std::nullopt;
}

inline std::string paddedKey(const std::string& prefix, int index) {
  std::string digits = std::to_string(index);
  std::string key = prefix;
  key.append(4 - std::min<std::size_t>(4, digits.size()), '0');
  key.append(digits);
  return key;
}

template <typename Backend>
class StoreConformance : public ::testing::Test {
 protected:
  void SetUp() override {
    backend_ = std::make_unique<Backend>();
    store_ = backend_->open();
    ASSERT_NE(store_, nullptr);
  }
  void TearDown() override {
    store_.reset();
    backend_.reset();
  }

  Store& store() { return *store_; }

  // Creates and returns the new revision, failing the test if the create did not succeed.
  Revision mustCreate(const std::string& key, const std::string& value) {
    WriteResult result = store_->create(key, value);
    EXPECT_TRUE(result.succeeded) << "create " << key;
    return result.revision;
  }

  std::unique_ptr<Backend> backend_;
  std::unique_ptr<Store> store_;
};

TYPED_TEST_SUITE_P(StoreConformance);

TYPED_TEST_P(StoreConformance, RevisionsAreGlobalAndMonotonic) {
  Store& store = this->store();
  const Revision start = store.currentRevision();
  EXPECT_GE(start, 0);

  WriteResult a = store.create("/rev/a", "1");
  ASSERT_TRUE(a.succeeded);
  EXPECT_EQ(a.revision, start + 1);
  EXPECT_EQ(store.currentRevision(), a.revision);

  WriteResult b = store.create("/rev/b", "1");
  ASSERT_TRUE(b.succeeded);
  EXPECT_EQ(b.revision, a.revision + 1);

  WriteResult a2 = store.update("/rev/a", "2", a.revision);
  ASSERT_TRUE(a2.succeeded);
  EXPECT_EQ(a2.revision, b.revision + 1);

  auto got = store.get("/rev/a");
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->value, "2");
  EXPECT_EQ(got->createRevision, a.revision);
  EXPECT_EQ(got->modRevision, a2.revision);

  auto gotB = store.get("/rev/b");
  ASSERT_TRUE(gotB.has_value());
  EXPECT_EQ(gotB->createRevision, b.revision);
  EXPECT_EQ(gotB->modRevision, b.revision);

  WriteResult removed = store.remove("/rev/b", 0);
  ASSERT_TRUE(removed.succeeded);
  EXPECT_EQ(removed.revision, a2.revision + 1);
  EXPECT_EQ(store.currentRevision(), removed.revision);

  // A failed write does not move the revision.
  EXPECT_FALSE(store.create("/rev/a", "x").succeeded);
  EXPECT_FALSE(store.update("/rev/a", "x", a.revision).succeeded);
  EXPECT_FALSE(store.remove("/rev/missing", 0).succeeded);
  EXPECT_EQ(store.currentRevision(), removed.revision);

  // Re-creating a deleted key starts a new life: createRevision is the new write's.
  WriteResult again = store.create("/rev/b", "again");
  ASSERT_TRUE(again.succeeded);
  auto gotAgain = store.get("/rev/b");
  ASSERT_TRUE(gotAgain.has_value());
  EXPECT_EQ(gotAgain->createRevision, again.revision);
  EXPECT_EQ(gotAgain->modRevision, again.revision);
}

TYPED_TEST_P(StoreConformance, CreateOnExistingKeyFailsWithCurrent) {
  Store& store = this->store();
  WriteResult first = store.create("/create/k", "v1");
  ASSERT_TRUE(first.succeeded);

  WriteResult second = store.create("/create/k", "v2");
  EXPECT_FALSE(second.succeeded);
  ASSERT_TRUE(second.current.has_value());
  EXPECT_EQ(second.current->key, "/create/k");
  EXPECT_EQ(second.current->value, "v1");
  EXPECT_EQ(second.current->createRevision, first.revision);
  EXPECT_EQ(second.current->modRevision, first.revision);
  EXPECT_EQ(store.get("/create/k")->value, "v1");
}

TYPED_TEST_P(StoreConformance, UpdateIsCompareAndSwap) {
  Store& store = this->store();
  WriteResult created = store.create("/cas/k", "v1");
  ASSERT_TRUE(created.succeeded);

  WriteResult ok = store.update("/cas/k", "v2", created.revision);
  ASSERT_TRUE(ok.succeeded);
  EXPECT_GT(ok.revision, created.revision);

  // The revision moved on: the stale update fails and reports what the key holds now.
  WriteResult stale = store.update("/cas/k", "v3", created.revision);
  EXPECT_FALSE(stale.succeeded);
  ASSERT_TRUE(stale.current.has_value());
  EXPECT_EQ(stale.current->value, "v2");
  EXPECT_EQ(stale.current->modRevision, ok.revision);
  EXPECT_EQ(stale.current->createRevision, created.revision);
  EXPECT_EQ(store.get("/cas/k")->value, "v2");

  WriteResult absent = store.update("/cas/missing", "v", created.revision);
  EXPECT_FALSE(absent.succeeded);
  EXPECT_FALSE(absent.current.has_value());
  EXPECT_FALSE(store.get("/cas/missing").has_value());
}

TYPED_TEST_P(StoreConformance, RemoveAnyExpectedAndAbsent) {
  Store& store = this->store();
  WriteResult a = store.create("/rm/a", "va");
  WriteResult b = store.create("/rm/b", "vb");
  ASSERT_TRUE(a.succeeded && b.succeeded);

  // Any revision.
  WriteResult removedA = store.remove("/rm/a", 0);
  ASSERT_TRUE(removedA.succeeded);
  ASSERT_TRUE(removedA.deleted.has_value());
  EXPECT_EQ(removedA.deleted->key, "/rm/a");
  EXPECT_EQ(removedA.deleted->value, "va");
  EXPECT_EQ(removedA.deleted->modRevision, a.revision);
  EXPECT_FALSE(store.get("/rm/a").has_value());

  // A stale expected revision fails and reports the current value.
  WriteResult updatedB = store.update("/rm/b", "vb2", b.revision);
  ASSERT_TRUE(updatedB.succeeded);
  WriteResult stale = store.remove("/rm/b", b.revision);
  EXPECT_FALSE(stale.succeeded);
  ASSERT_TRUE(stale.current.has_value());
  EXPECT_EQ(stale.current->value, "vb2");
  EXPECT_EQ(stale.current->modRevision, updatedB.revision);
  EXPECT_TRUE(store.get("/rm/b").has_value());

  // The matching expected revision succeeds.
  WriteResult removedB = store.remove("/rm/b", updatedB.revision);
  ASSERT_TRUE(removedB.succeeded);
  ASSERT_TRUE(removedB.deleted.has_value());
  EXPECT_EQ(removedB.deleted->value, "vb2");
  EXPECT_FALSE(store.get("/rm/b").has_value());

  // Absent.
  WriteResult absent = store.remove("/rm/b", 0);
  EXPECT_FALSE(absent.succeeded);
  EXPECT_FALSE(absent.current.has_value());
}

TYPED_TEST_P(StoreConformance, GetReturnsValueOrNothing) {
  Store& store = this->store();
  EXPECT_FALSE(store.get("/get/none").has_value());
  WriteResult created = store.create("/get/k", "value");
  ASSERT_TRUE(created.succeeded);
  auto got = store.get("/get/k");
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->key, "/get/k");
  EXPECT_EQ(got->value, "value");
  EXPECT_FALSE(store.get("/get/k/").has_value());
  EXPECT_FALSE(store.get("/get/").has_value());
  // Empty values are values.
  ASSERT_TRUE(store.create("/get/empty", "").succeeded);
  auto empty = store.get("/get/empty");
  ASSERT_TRUE(empty.has_value());
  EXPECT_EQ(empty->value, "");
}

TYPED_TEST_P(StoreConformance, RangeIsolatesPrefixes) {
  Store& store = this->store();
  for (const char* key : {"/a/1", "/a/2", "/ab/1", "/a", "/b/1", "/a/3/x"}) {
    this->mustCreate(key, std::string("v") + key);
  }
  RangeRequest request;
  request.prefix = "/a/";
  RangeResult result = store.range(request);
  EXPECT_EQ(keysOf(result.items), (std::vector<std::string>{"/a/1", "/a/2", "/a/3/x"}));
  EXPECT_FALSE(result.more);
  EXPECT_EQ(result.revision, store.currentRevision());
  EXPECT_EQ(result.items[0].value, "v/a/1");

  request.prefix = "/ab/";
  EXPECT_EQ(keysOf(store.range(request).items), (std::vector<std::string>{"/ab/1"}));

  request.prefix = "/c/";
  RangeResult none = store.range(request);
  EXPECT_TRUE(none.items.empty());
  EXPECT_FALSE(none.more);

  EXPECT_EQ(store.count("/a/"), 3);
  EXPECT_EQ(store.count("/ab/"), 1);
  EXPECT_EQ(store.count("/a"), 5);
  EXPECT_EQ(store.count("/c/"), 0);
}

TYPED_TEST_P(StoreConformance, RangePaginates) {
  Store& store = this->store();
  for (int i = 0; i < 10; ++i) {
    this->mustCreate(paddedKey("/page/", i), "v" + std::to_string(i));
  }
  this->mustCreate("/pagex", "outside");

  RangeRequest request;
  request.prefix = "/page/";
  request.limit = 4;
  std::vector<std::string> seen;
  std::vector<bool> mores;
  Revision at = 0;
  for (int page = 0; page < 10; ++page) {
    RangeResult result = store.range(request);
    if (at == 0) {
      at = result.revision;
    }
    EXPECT_EQ(result.revision, at);
    EXPECT_LE(result.items.size(), 4U);
    for (const auto& kv : result.items) {
      seen.push_back(kv.key);
    }
    mores.push_back(result.more);
    if (!result.more) {
      break;
    }
    request.startAfter = result.items.back().key;
    request.revision = at;
  }
  std::vector<std::string> expected;
  expected.reserve(10);
  for (int i = 0; i < 10; ++i) {
    expected.push_back(paddedKey("/page/", i));
  }
  EXPECT_EQ(seen, expected);
  EXPECT_EQ(mores, (std::vector<bool>{true, true, false}));

  // A limit that matches the remaining keys exactly: no more.
  request = RangeRequest{};
  request.prefix = "/page/";
  request.limit = 5;
  RangeResult first = store.range(request);
  EXPECT_TRUE(first.more);
  request.startAfter = first.items.back().key;
  RangeResult second = store.range(request);
  EXPECT_EQ(second.items.size(), 5U);
  EXPECT_FALSE(second.more);

  // startAfter alone, no limit.
  request = RangeRequest{};
  request.prefix = "/page/";
  request.startAfter = paddedKey("/page/", 7);
  EXPECT_EQ(keysOf(store.range(request).items),
            (std::vector<std::string>{paddedKey("/page/", 8), paddedKey("/page/", 9)}));
}

TYPED_TEST_P(StoreConformance, PagesAtOneRevisionAreOneSnapshot) {
  Store& store = this->store();
  constexpr int kKeys = 60;
  std::map<std::string, std::string> original;
  for (int i = 0; i < kKeys; ++i) {
    std::string key = paddedKey("/snap/", i);
    original[key] = "v" + std::to_string(i);
    this->mustCreate(key, original[key]);
  }

  RangeRequest request;
  request.prefix = "/snap/";
  request.limit = 7;
  RangeResult page = store.range(request);
  const Revision at = page.revision;
  std::map<std::string, std::string> seen;
  int round = 0;
  while (true) {
    for (const auto& kv : page.items) {
      EXPECT_LE(kv.modRevision, at);
      seen[kv.key] = kv.value;
    }
    if (!page.more) {
      break;
    }
    // Writes between pages: update, delete and create keys on both sides of the cursor.
    std::string ahead = paddedKey("/snap/", std::min(kKeys - 1, (round + 2) * 7 + 3));
    std::string behind = paddedKey("/snap/", round);
    auto current = store.get(ahead);
    if (current) {
      EXPECT_TRUE(store.update(ahead, "changed", current->modRevision).succeeded);
    }
    store.remove(behind, 0);
    EXPECT_TRUE(store.create(paddedKey("/snap/", 1000 + round), "new").succeeded);
    EXPECT_TRUE(store.create(ahead + "-new" + std::to_string(round), "new").succeeded);
    ++round;

    request.startAfter = page.items.back().key;
    request.revision = at;
    page = store.range(request);
    EXPECT_EQ(page.revision, at);
  }
  EXPECT_GT(round, 3);
  EXPECT_EQ(seen, original);
}

TYPED_TEST_P(StoreConformance, RangeAtAnOldRevision) {
  Store& store = this->store();
  WriteResult k1 = store.create("/old/k", "v1");
  WriteResult k2 = store.update("/old/k", "v2", k1.revision);
  WriteResult other = store.create("/old/other", "o");
  WriteResult gone = store.remove("/old/k", 0);
  WriteResult back = store.create("/old/k", "v3");
  ASSERT_TRUE(k1.succeeded && k2.succeeded && other.succeeded && gone.succeeded && back.succeeded);

  auto at = [&](Revision revision) {
    RangeRequest request;
    request.prefix = "/old/";
    request.revision = revision;
    RangeResult result = store.range(request);
    EXPECT_EQ(result.revision, revision);
    return result.items;
  };

  auto r1 = at(k1.revision);
  ASSERT_EQ(r1.size(), 1U);
  EXPECT_EQ(r1[0].value, "v1");
  EXPECT_EQ(r1[0].createRevision, k1.revision);
  EXPECT_EQ(r1[0].modRevision, k1.revision);

  auto r2 = at(other.revision);
  ASSERT_EQ(r2.size(), 2U);
  EXPECT_EQ(r2[0].key, "/old/k");
  EXPECT_EQ(r2[0].value, "v2");
  EXPECT_EQ(r2[0].createRevision, k1.revision);
  EXPECT_EQ(r2[0].modRevision, k2.revision);
  EXPECT_EQ(r2[1].key, "/old/other");

  auto r3 = at(gone.revision);
  EXPECT_EQ(keysOf(r3), (std::vector<std::string>{"/old/other"}));

  auto r4 = at(back.revision);
  ASSERT_EQ(r4.size(), 2U);
  EXPECT_EQ(r4[0].value, "v3");
  EXPECT_EQ(r4[0].createRevision, back.revision);

  // Paginating at an old revision.
  RangeRequest request;
  request.prefix = "/old/";
  request.revision = other.revision;
  request.limit = 1;
  RangeResult page = store.range(request);
  EXPECT_EQ(keysOf(page.items), (std::vector<std::string>{"/old/k"}));
  EXPECT_TRUE(page.more);

  // A revision the store has not reached.
  request = RangeRequest{};
  request.prefix = "/old/";
  request.revision = store.currentRevision() + 1000;
  EXPECT_EQ(errorCodeOf([&] { store.range(request); }), StoreErrorCode::kFutureRevision);
}

TYPED_TEST_P(StoreConformance, CountFollowsCreatesAndDeletes) {
  Store& store = this->store();
  EXPECT_EQ(store.count("/count/"), 0);
  for (int i = 0; i < 25; ++i) {
    this->mustCreate(paddedKey("/count/", i), "v");
  }
  this->mustCreate("/countx", "v");
  EXPECT_EQ(store.count("/count/"), 25);
  for (int i = 0; i < 5; ++i) {
    EXPECT_TRUE(store.remove(paddedKey("/count/", i), 0).succeeded);
  }
  EXPECT_EQ(store.count("/count/"), 20);
}

TYPED_TEST_P(StoreConformance, WatchDeliversLiveEvents) {
  Store& store = this->store();
  EventCollector events;
  auto watch = store.watch("/w/", store.currentRevision(), events.callbacks());

  WriteResult created = store.create("/w/k", "v1");
  WriteResult updated = store.update("/w/k", "v2", created.revision);
  store.create("/wx/k", "other prefix");
  store.create("/x/k", "other prefix");
  WriteResult removed = store.remove("/w/k", 0);
  ASSERT_TRUE(created.succeeded && updated.succeeded && removed.succeeded);

  ASSERT_TRUE(events.waitForRevision(removed.revision));
  auto got = events.events();
  ASSERT_EQ(got.size(), 3U);

  EXPECT_EQ(got[0].type, WatchEventType::kPut);
  EXPECT_EQ(got[0].kv.key, "/w/k");
  EXPECT_EQ(got[0].kv.value, "v1");
  EXPECT_EQ(got[0].kv.createRevision, created.revision);
  EXPECT_EQ(got[0].kv.modRevision, created.revision);
  EXPECT_FALSE(got[0].prev.has_value());

  EXPECT_EQ(got[1].type, WatchEventType::kPut);
  EXPECT_EQ(got[1].kv.value, "v2");
  EXPECT_EQ(got[1].kv.createRevision, created.revision);
  EXPECT_EQ(got[1].kv.modRevision, updated.revision);
  ASSERT_TRUE(got[1].prev.has_value());
  EXPECT_EQ(got[1].prev->value, "v1");
  EXPECT_EQ(got[1].prev->modRevision, created.revision);

  EXPECT_EQ(got[2].type, WatchEventType::kDelete);
  EXPECT_EQ(got[2].kv.key, "/w/k");
  EXPECT_EQ(got[2].kv.modRevision, removed.revision);
  EXPECT_EQ(got[2].kv.value, "");
  ASSERT_TRUE(got[2].prev.has_value());
  EXPECT_EQ(got[2].prev->value, "v2");
  EXPECT_EQ(got[2].prev->modRevision, updated.revision);
  EXPECT_FALSE(events.error().has_value());
}

TYPED_TEST_P(StoreConformance, WatchFromThePastReplaysHistoryThenLive) {
  Store& store = this->store();
  WriteResult a = store.create("/h/a", "1");
  WriteResult b = store.create("/h/b", "1");
  WriteResult a2 = store.update("/h/a", "2", a.revision);
  store.create("/hx/other", "1");
  WriteResult bGone = store.remove("/h/b", 0);
  ASSERT_TRUE(a.succeeded && b.succeeded && a2.succeeded && bGone.succeeded);

  EventCollector events;
  // Everything after the first create.
  auto watch = store.watch("/h/", a.revision, events.callbacks());
  WriteResult live = store.create("/h/c", "live");
  ASSERT_TRUE(events.waitForRevision(live.revision));
  auto got = events.events();
  EXPECT_EQ(revisionsOf(got),
            (std::vector<Revision>{b.revision, a2.revision, bGone.revision, live.revision}));
  ASSERT_EQ(got.size(), 4U);
  EXPECT_FALSE(got[0].prev.has_value());
  ASSERT_TRUE(got[1].prev.has_value());
  EXPECT_EQ(got[1].prev->value, "1");
  EXPECT_EQ(got[2].type, WatchEventType::kDelete);
  ASSERT_TRUE(got[2].prev.has_value());
  EXPECT_EQ(got[2].prev->key, "/h/b");
  EXPECT_EQ(got[3].kv.value, "live");
}

TYPED_TEST_P(StoreConformance, WatchFromThePastRacingWritesHasNoGapNoDuplicate) {
  Store& store = this->store();
  constexpr int kBefore = 50;
  std::vector<Revision> written;  // every write under /race/, in order
  for (int i = 0; i < kBefore; ++i) {
    WriteResult result = store.create(paddedKey("/race/", i), "v");
    ASSERT_TRUE(result.succeeded);
    written.push_back(result.revision);
  }
  const Revision from = written[kBefore / 2];

  // A writer keeps going while the watch starts and replays.
  std::atomic<bool> stop{false};
  std::mutex writtenMutex;
  std::thread writer([&] {
    for (int i = kBefore; !stop.load() || i < kBefore + 100; ++i) {
      std::string key = paddedKey("/race/", i % 200);
      WriteResult result;
      if (auto current = store.get(key)) {
        result = store.update(key, "u" + std::to_string(i), current->modRevision);
      } else {
        result = store.create(key, "c" + std::to_string(i));
      }
      // Noise outside the prefix.
      store.create("/racex/" + std::to_string(i), "noise");
      if (result.succeeded) {
        std::lock_guard lock(writtenMutex);
        written.push_back(result.revision);
      }
      if (i > kBefore + 2000) {
        break;
      }
    }
  });

  EventCollector events;
  auto watch = store.watch("/race/", from, events.callbacks());
  // Let some writes pass after the watch started, then stop the writer.
  WriteResult marker = store.create("/race/marker", "m");
  ASSERT_TRUE(marker.succeeded);
  stop = true;
  writer.join();
  WriteResult last = store.create("/race/last", "end");
  ASSERT_TRUE(last.succeeded);
  ASSERT_TRUE(events.waitForRevision(last.revision));

  std::vector<Revision> expected;
  {
    std::lock_guard lock(writtenMutex);
    written.push_back(marker.revision);
    written.push_back(last.revision);
    std::sort(written.begin(), written.end());
    for (Revision revision : written) {
      if (revision > from) {
        expected.push_back(revision);
      }
    }
  }
  EXPECT_EQ(revisionsOf(events.events()), expected);
  for (const auto& event : events.events()) {
    EXPECT_EQ(event.kv.key.rfind("/race/", 0), 0U) << event.kv.key;
  }
}

TYPED_TEST_P(StoreConformance, WatchFiltersByPrefix) {
  Store& store = this->store();
  EventCollector slashA;
  EventCollector all;
  auto watchA = store.watch("/p/a/", store.currentRevision(), slashA.callbacks());
  auto watchAll = store.watch("/p/", store.currentRevision(), all.callbacks());
  store.create("/p/a/1", "v");
  store.create("/p/ab/1", "v");
  store.create("/p/a", "v");
  WriteResult last = store.create("/p/a/2", "v");
  ASSERT_TRUE(all.waitForRevision(last.revision));
  ASSERT_TRUE(slashA.waitForRevision(last.revision));
  std::vector<std::string> keys;
  for (const auto& event : slashA.events()) {
    keys.push_back(event.kv.key);
  }
  EXPECT_EQ(keys, (std::vector<std::string>{"/p/a/1", "/p/a/2"}));
  EXPECT_EQ(all.size(), 4U);
}

TYPED_TEST_P(StoreConformance, DestroyingTheWatchStopsCallbacks) {
  Store& store = this->store();
  EventCollector cancelled;
  EventCollector kept;
  auto watchKept = store.watch("/stop/", store.currentRevision(), kept.callbacks());
  auto watchCancelled = store.watch("/stop/", store.currentRevision(), cancelled.callbacks());

  // Destroy one watch while events are flowing.
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    for (int i = 0; !stop.load() && i < 5000; ++i) {
      store.create(paddedKey("/stop/", i), "v");
    }
  });
  ASSERT_TRUE(cancelled.waitForCount(3));
  watchCancelled.reset();
  const std::size_t atCancel = cancelled.size();
  stop = true;
  writer.join();
  WriteResult after = store.create("/stop/after", "v");
  ASSERT_TRUE(after.succeeded);
  ASSERT_TRUE(kept.waitForRevision(after.revision));
  EXPECT_EQ(cancelled.size(), atCancel);
  EXPECT_FALSE(cancelled.error().has_value());
}

TYPED_TEST_P(StoreConformance, CompactionForgetsHistoryButKeepsValues) {
  Store& store = this->store();
  WriteResult k1 = store.create("/cmp/k", "v1");
  WriteResult k2 = store.update("/cmp/k", "v2", k1.revision);
  WriteResult x = store.create("/cmp/x", "x");
  WriteResult y = store.create("/cmp/y", "y");
  WriteResult yGone = store.remove("/cmp/y", 0);
  WriteResult k3 = store.update("/cmp/k", "v3", k2.revision);
  WriteResult z = store.create("/cmp/z", "z");
  ASSERT_TRUE(k1.succeeded && k2.succeeded && x.succeeded && y.succeeded && yGone.succeeded &&
              k3.succeeded && z.succeeded);

  const Revision compactAt = k3.revision;
  store.compact(compactAt);
  EXPECT_EQ(store.compactedRevision(), compactAt);

  // Current values stay.
  EXPECT_EQ(store.get("/cmp/k")->value, "v3");
  EXPECT_EQ(store.get("/cmp/k")->createRevision, k1.revision);
  EXPECT_EQ(store.get("/cmp/x")->value, "x");
  EXPECT_FALSE(store.get("/cmp/y").has_value());
  EXPECT_EQ(store.count("/cmp/"), 3);

  // Reads below the compacted revision fail; at it they see that revision's state.
  RangeRequest request;
  request.prefix = "/cmp/";
  request.revision = compactAt - 1;
  EXPECT_EQ(errorCodeOf([&] { store.range(request); }), StoreErrorCode::kCompacted);
  request.revision = k1.revision;
  EXPECT_EQ(errorCodeOf([&] { store.range(request); }), StoreErrorCode::kCompacted);
  request.revision = compactAt;
  RangeResult atCompact = store.range(request);
  EXPECT_EQ(keysOf(atCompact.items), (std::vector<std::string>{"/cmp/k", "/cmp/x"}));
  EXPECT_EQ(atCompact.items[0].value, "v3");

  // Watches that would need compacted history fail; from the compacted revision they work.
  EventCollector tooOld;
  EXPECT_EQ(errorCodeOf([&] { store.watch("/cmp/", k1.revision, tooOld.callbacks()); }),
            StoreErrorCode::kCompacted);
  EXPECT_EQ(errorCodeOf([&] { store.watch("/cmp/", compactAt - 2, tooOld.callbacks()); }),
            StoreErrorCode::kCompacted);
  EventCollector fromCompact;
  auto watch = store.watch("/cmp/", compactAt - 1, fromCompact.callbacks());
  ASSERT_TRUE(fromCompact.waitForRevision(z.revision));
  auto got = fromCompact.events();
  EXPECT_EQ(revisionsOf(got), (std::vector<Revision>{k3.revision, z.revision}));
  ASSERT_EQ(got.size(), 2U);
  EXPECT_EQ(got[0].kv.value, "v3");
  // got[0].prev is not checked: it lies below the compacted revision (etcd omits it).

  // Writes continue after compaction; compacting again further works.
  WriteResult k4 = store.update("/cmp/k", "v4", k3.revision);
  ASSERT_TRUE(k4.succeeded);
  ASSERT_TRUE(fromCompact.waitForRevision(k4.revision));
  store.compact(k4.revision);
  EXPECT_EQ(store.compactedRevision(), k4.revision);
  EXPECT_EQ(store.get("/cmp/k")->value, "v4");
  EXPECT_EQ(store.get("/cmp/z")->value, "z");
}

TYPED_TEST_P(StoreConformance, LargeValues) {
  Store& store = this->store();
  std::string big(std::size_t{1024} * 1024, '\0');
  for (std::size_t i = 0; i < big.size(); ++i) {
    big[i] = static_cast<char>((i * 131 + i / 7) & 0xff);
  }
  std::string big2 = big;
  std::reverse(big2.begin(), big2.end());

  EventCollector events;
  auto watch = store.watch("/big/", store.currentRevision(), events.callbacks());
  WriteResult created = store.create("/big/k", big);
  ASSERT_TRUE(created.succeeded);
  EXPECT_EQ(store.get("/big/k")->value, big);
  WriteResult updated = store.update("/big/k", big2, created.revision);
  ASSERT_TRUE(updated.succeeded);
  RangeRequest request;
  request.prefix = "/big/";
  RangeResult result = store.range(request);
  ASSERT_EQ(result.items.size(), 1U);
  EXPECT_EQ(result.items[0].value, big2);

  ASSERT_TRUE(events.waitForRevision(updated.revision));
  auto got = events.events();
  ASSERT_EQ(got.size(), 2U);
  EXPECT_EQ(got[0].kv.value, big);
  EXPECT_EQ(got[1].kv.value, big2);
  ASSERT_TRUE(got[1].prev.has_value());
  EXPECT_EQ(got[1].prev->value, big);
}

TYPED_TEST_P(StoreConformance, KeysWithOddBytes) {
  Store& store = this->store();
  const std::vector<std::string> keys = {std::string("/odd/\0nul", 9),
                                         "/odd/space key",
                                         "/odd/new\nline",
                                         "/odd/\xc3\xbc",
                                         "/odd/\x7f",
                                         "/odd/\xff",
                                         "/odd/\xff\xff",
                                         std::string("/odd/\xff\x00", 7),
                                         "/odd/%2F"};
  for (const auto& key : keys) {
    WriteResult result = store.create(key, "value of " + key);
    ASSERT_TRUE(result.succeeded) << "key size " << key.size();
  }
  for (const auto& key : keys) {
    auto got = store.get(key);
    ASSERT_TRUE(got.has_value());
    EXPECT_EQ(got->key, key);
    EXPECT_EQ(got->value, "value of " + key);
  }
  // Ascending by bytes, compared unsigned.
  std::vector<std::string> sorted = keys;
  std::sort(sorted.begin(), sorted.end());
  RangeRequest request;
  request.prefix = "/odd/";
  EXPECT_EQ(keysOf(store.range(request).items), sorted);
  EXPECT_EQ(store.count("/odd/"), static_cast<std::int64_t>(keys.size()));

  // A prefix ending in 0xff.
  request.prefix = "/odd/\xff";
  EXPECT_EQ(
      keysOf(store.range(request).items),
      (std::vector<std::string>{"/odd/\xff", std::string("/odd/\xff\x00", 7), "/odd/\xff\xff"}));
  // A prefix containing NUL.
  request.prefix = std::string("/odd/\0", 6);
  EXPECT_EQ(keysOf(store.range(request).items),
            (std::vector<std::string>{std::string("/odd/\0nul", 9)}));

  // Watches see them with their bytes intact.
  EventCollector events;
  auto watch =
      store.watch(std::string("/odd/\xff", 6), store.currentRevision(), events.callbacks());
  WriteResult removed = store.remove("/odd/\xff\xff", 0);
  ASSERT_TRUE(removed.succeeded);
  ASSERT_TRUE(events.waitForRevision(removed.revision));
  ASSERT_EQ(events.size(), 1U);
  EXPECT_EQ(events.events()[0].kv.key, "/odd/\xff\xff");
}

TYPED_TEST_P(StoreConformance, ConcurrentCompareAndSwapLosesNoIncrement) {
  Store& store = this->store();
  ASSERT_TRUE(store.create("/counter", "0").succeeded);
  constexpr int kThreads = 8;
  constexpr int kIncrements = 25;
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  std::atomic<int> conflicts{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kIncrements; ++i) {
        auto current = store.get("/counter");
        while (true) {
          int value = std::stoi(current->value);
          WriteResult result =
              store.update("/counter", std::to_string(value + 1), current->modRevision);
          if (result.succeeded) {
            break;
          }
          ++conflicts;
          current = result.current;
        }
      }
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }
  EXPECT_EQ(store.get("/counter")->value, std::to_string(kThreads * kIncrements));
}

REGISTER_TYPED_TEST_SUITE_P(StoreConformance, RevisionsAreGlobalAndMonotonic,
                            CreateOnExistingKeyFailsWithCurrent, UpdateIsCompareAndSwap,
                            RemoveAnyExpectedAndAbsent, GetReturnsValueOrNothing,
                            RangeIsolatesPrefixes, RangePaginates, PagesAtOneRevisionAreOneSnapshot,
                            RangeAtAnOldRevision, CountFollowsCreatesAndDeletes,
                            WatchDeliversLiveEvents, WatchFromThePastReplaysHistoryThenLive,
                            WatchFromThePastRacingWritesHasNoGapNoDuplicate, WatchFiltersByPrefix,
                            DestroyingTheWatchStopsCallbacks,
                            CompactionForgetsHistoryButKeepsValues, LargeValues, KeysWithOddBytes,
                            ConcurrentCompareAndSwapLosesNoIncrement);

}  // namespace kite::controlplane::conformance
