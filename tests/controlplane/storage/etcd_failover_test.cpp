// The etcd store on a three-member cluster when a member dies: calls and an open watch move
// to the members left, and the watch neither loses nor repeats an event.

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "etcd_test_cluster.h"
#include "kite/controlplane/etcd_store.h"

namespace kite::controlplane {
namespace {

using testing::EtcdTestCluster;

constexpr std::chrono::seconds kGuard{60};  // only against hangs

class Collector {
 public:
  WatchCallbacks callbacks() {
    WatchCallbacks callbacks;
    callbacks.onEvents = [this](const std::vector<WatchEvent>& events) {
      const std::lock_guard lock(mutex_);
      for (const auto& event : events) {
        revisions_.push_back(event.kv.modRevision);
      }
      changed_.notify_all();
    };
    callbacks.onError = [this](const StoreError& error) {
      const std::lock_guard lock(mutex_);
      error_ = error.what();
      changed_.notify_all();
    };
    return callbacks;
  }
  bool waitFor(Revision revision) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, kGuard, [&] {
      return error_.has_value() || (!revisions_.empty() && revisions_.back() >= revision);
    });
  }
  std::vector<Revision> revisions() {
    const std::lock_guard lock(mutex_);
    return revisions_;
  }
  std::optional<std::string> error() {
    const std::lock_guard lock(mutex_);
    return error_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<Revision> revisions_;
  std::optional<std::string> error_;
};

// The cluster's endpoints with member `first` in front: the store starts with it.
std::vector<std::string> endpointsStartingWith(const EtcdTestCluster& cluster, std::size_t first) {
  std::vector<std::string> endpoints = {cluster.clientUrl(first)};
  for (std::size_t i = 0; i < cluster.size(); ++i) {
    if (i != first) {
      endpoints.push_back(cluster.clientUrl(i));
    }
  }
  return endpoints;
}

std::string key(int index) { return "/fo/" + std::to_string(1000 + index); }

// Creates `k`, retrying while the store reports kUnavailable: a write cut off by its
// member's death (the connection reset under it) or by an election is in doubt, and the
// store says so rather than guess. If it was applied after all, the retry finds the key
// (keys are unique here) and its revision is the write's.
Revision createSurely(Store& store, const std::string& k) {
  const auto deadline = std::chrono::steady_clock::now() + kGuard;
  for (;;) {
    try {
      const WriteResult result = store.create(k, "v");
      if (result.succeeded) {
        return result.revision;
      }
      if (result.current.has_value()) {
        return result.current->modRevision;
      }
      ADD_FAILURE() << "create " << k << " failed without a current value";
      return 0;
    } catch (const StoreError& error) {
      if (error.code() != StoreErrorCode::kUnavailable ||
          std::chrono::steady_clock::now() > deadline) {
        ADD_FAILURE() << error.what();
        return 0;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
}

TEST(EtcdFailover, FollowerDiesCallsAndWatchMoveOn) {
  EtcdTestCluster cluster(3);
  const std::size_t leader = cluster.leader();
  const std::size_t victim = (leader + 1) % cluster.size();
  EtcdStoreOptions options;
  options.endpoints = endpointsStartingWith(cluster, victim);
  auto store = openEtcdStore(options);

  Collector events;
  auto watch = store->watch("/fo/", store->currentRevision(), events.callbacks());
  std::vector<Revision> written;
  for (int i = 0; i < 5; ++i) {
    const WriteResult result = store->create(key(i), "v");
    ASSERT_TRUE(result.succeeded);
    written.push_back(result.revision);
  }
  // The watch is live on the member about to die (the store's first endpoint).
  ASSERT_TRUE(events.waitFor(written.back()));

  cluster.kill(victim);
  for (int i = 5; i < 25; ++i) {
    const Revision revision = createSurely(*store, key(i));
    ASSERT_GT(revision, written.back()) << key(i);
    written.push_back(revision);
  }
  ASSERT_EQ(store->count("/fo/"), 25);
  ASSERT_TRUE(events.waitFor(written.back())) << "watch stalled after the member died";
  EXPECT_EQ(events.revisions(), written);
  EXPECT_FALSE(events.error().has_value()) << *events.error();
}

TEST(EtcdFailover, LeaderDiesWritesResumeAndTheWatchLosesNothing) {
  EtcdTestCluster cluster(3);
  const std::size_t leader = cluster.leader();
  EtcdStoreOptions options;
  options.endpoints = endpointsStartingWith(cluster, leader);
  auto store = openEtcdStore(options);

  Collector events;
  auto watch = store->watch("/fo/", store->currentRevision(), events.callbacks());
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(store->create(key(i), "v").succeeded);
  }
  ASSERT_TRUE(events.waitFor(store->get(key(4))->modRevision));

  // A writer keeps going while the leader dies.
  std::thread writer([&] {
    for (int i = 5; i < 40; ++i) {
      createSurely(*store, key(i));
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  cluster.kill(leader);
  writer.join();

  // What the watch must have delivered: every key's creation, once, in order.
  RangeRequest request;
  request.prefix = "/fo/";
  const RangeResult all = store->range(request);
  ASSERT_EQ(all.items.size(), 40U);
  std::vector<Revision> expected;
  for (const auto& kv : all.items) {
    expected.push_back(kv.modRevision);
  }
  std::sort(expected.begin(), expected.end());
  ASSERT_TRUE(events.waitFor(expected.back())) << "watch stalled after the leader died";
  EXPECT_EQ(events.revisions(), expected);
  EXPECT_FALSE(events.error().has_value()) << *events.error();
  EXPECT_NE(cluster.leader(), leader);
}

}  // namespace
}  // namespace kite::controlplane
