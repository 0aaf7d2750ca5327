#include "kite/proxy/sync_runner.h"

#include <gtest/gtest.h>

#include <stdexcept>
#include <vector>

namespace kite::proxy {
namespace {

// Records the calls; fails when asked to.
class FakeDataplane final : public Dataplane {
 public:
  void syncAll(const DesiredState& state) override {
    if (fail) throw std::runtime_error("boom");
    calls.push_back("all:" + std::to_string(state.services.size()));
  }
  void syncChanges(const DesiredState& applied, const DesiredState& next) override {
    if (fail) throw std::runtime_error("boom");
    calls.push_back("changes:" + std::to_string(applied.services.size()) + "->" +
                    std::to_string(next.services.size()));
  }
  void cleanup() override { calls.push_back("cleanup"); }

  bool fail = false;
  std::vector<std::string> calls;
};

DesiredState withPorts(int n) {
  DesiredState s;
  for (int i = 0; i < n; ++i) {
    ServicePortState p;
    p.namespace_ = "default";
    p.name = "s" + std::to_string(i);
    p.protocol = "tcp";
    p.clusterIP = "10.43.0." + std::to_string(i + 1);
    p.port = 80;
    s.services.emplace(p.key(), p);
  }
  return s;
}

TEST(SyncRunner, FirstFullThenIncrementalAndNothingWhenUnchanged) {
  FakeDataplane dp;
  SyncRunner runner(dp);
  runner.sync(withPorts(1));
  runner.sync(withPorts(2));
  runner.sync(withPorts(2));
  const std::vector<std::string> want{"all:1", "changes:1->2"};
  EXPECT_EQ(dp.calls, want);
  EXPECT_EQ(runner.fullSyncs(), 1U);
  EXPECT_EQ(runner.incrementalSyncs(), 1U);
}

TEST(SyncRunner, AFailedSyncMakesTheNextOneFull) {
  FakeDataplane dp;
  SyncRunner runner(dp);
  runner.sync(withPorts(1));
  dp.fail = true;
  EXPECT_THROW(runner.sync(withPorts(2)), std::runtime_error);
  dp.fail = false;
  runner.sync(withPorts(2));
  const std::vector<std::string> want{"all:1", "all:2"};
  EXPECT_EQ(dp.calls, want);
}

TEST(SyncRunner, RequestFullSync) {
  FakeDataplane dp;
  SyncRunner runner(dp);
  runner.sync(withPorts(1));
  runner.requestFullSync();
  runner.sync(withPorts(1));
  const std::vector<std::string> want{"all:1", "all:1"};
  EXPECT_EQ(dp.calls, want);
}

}  // namespace
}  // namespace kite::proxy
