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
  void syncChangedKeys(const DesiredState& applied, const DesiredState& next,
                       const std::vector<std::string>& keys) override {
    if (fail) throw std::runtime_error("boom");
    std::string call = "keys:" + std::to_string(applied.services.size()) + "->" +
                       std::to_string(next.services.size());
    for (const auto& key : keys) call += " " + key;
    calls.push_back(call);
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

TEST(SyncRunner, SyncServicesHandsOverTheChangedPortsOfTheNamedServices) {
  FakeDataplane dp;
  SyncRunner runner(dp);
  runner.syncServices(withPorts(3), {"default/s1"});  // the first sync is full anyway
  auto next = withPorts(3);
  next.services.at("default/s1:/tcp").port = 81;
  next.services.erase("default/s2:/tcp");
  // s0 is named but unchanged, s10 does not exist, "default/s1" is no prefix of s10's keys.
  runner.syncServices(next, {"default/s0", "default/s1", "default/s2", "default/s10"});
  // Nothing left to do: the runner's copy followed the keys it handed over.
  runner.sync(next);
  runner.syncServices(next, {"default/s1"});
  const std::vector<std::string> want{"all:3", "keys:3->2 default/s1:/tcp default/s2:/tcp"};
  EXPECT_EQ(dp.calls, want);
  EXPECT_EQ(runner.incrementalSyncs(), 1U);
}

TEST(SyncRunner, AFailedSyncServicesMakesTheNextOneFull) {
  FakeDataplane dp;
  SyncRunner runner(dp);
  runner.sync(withPorts(1));
  dp.fail = true;
  EXPECT_THROW(runner.syncServices(withPorts(2), {"default/s1"}), std::runtime_error);
  dp.fail = false;
  runner.syncServices(withPorts(2), {"default/s1"});
  const std::vector<std::string> want{"all:1", "all:2"};
  EXPECT_EQ(dp.calls, want);
}

TEST(SyncRunner, PortKeysOfAServiceAreItsOwnOnly) {
  auto state = withPorts(12);
  ServicePortState v6 = state.services.at("default/s1:/tcp");
  v6.clusterIP = "fd00::1";
  state.services.emplace(v6.key(), v6);
  const std::vector<std::string> want{"default/s1:/tcp", "default/s1:/tcp/ipv6"};
  EXPECT_EQ(portKeysOf(state, "default/s1"), want);
  EXPECT_TRUE(portKeysOf(state, "default/s").empty());
}

}  // namespace
}  // namespace kite::proxy
