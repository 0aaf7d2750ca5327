// The garbage collector against a real `kite server --disable-agent` (its own controllers off),
// where the ordering of its watches matters. The cascading deletions of Deployments and
// ReplicaSets are in workload_server_test.

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <string>
#include <thread>

#include "kite/api/core/v1/types.h"
#include "kite/api/meta.h"
#include "kite/client/client.h"
#include "workload_server_fixture.h"

namespace kite::controlplane::controllers {
namespace {

using namespace std::chrono_literals;
using api::core::v1::ConfigMap;
using api::core::v1::Pod;

constexpr std::string_view kHold = "kite.test/hold";

// Polls every 20 ms (the other suites: 50 ms), as this test always has.
struct GarbageCollectorSuite : WorkloadServerSuite {
  static constexpr std::string_view kNamespacePrefix = "gc";
  static constexpr std::chrono::milliseconds kPollInterval = 20ms;
};

class GarbageCollectorServerTest : public WorkloadServerFixture<GarbageCollectorSuite> {
 protected:
  // A pod that blocks the deletion of owner and is held by a finalizer of the test's own.
  Pod makeDependent(const std::string& name, const ConfigMap& owner) {
    Pod p;
    p.metadata.name = name;
    p.metadata.namespace_ = ns_;
    p.metadata.finalizers = {std::string(kHold)};
    auto& ref = p.metadata.ownerReferences.emplace_back();
    ref.apiVersion = "v1";
    ref.kind = "ConfigMap";
    ref.name = owner.metadata.name;
    ref.uid = owner.metadata.uid;
    ref.blockOwnerDeletion = true;
    auto& c = p.spec.containers.emplace_back();
    c.name = "main";
    c.image = "busybox";
    return p;
  }

  ConfigMap createOwner(const std::string& name) {
    ConfigMap owner;
    owner.metadata.name = name;
    owner.metadata.namespace_ = ns_;
    return client_->create(owner);
  }

  bool exists(const std::string& configMap) {
    try {
      client_->get<ConfigMap>(ns_, configMap);
      return true;
    } catch (const client::ApiError& e) {
      if (e.isNotFound()) return false;
      throw;
    }
  }
};

// A dependent created just before its owner is deleted in the foreground reaches the
// collector's graph through the pods' watch, which can run behind the owner's watch. The owner
// still waits for it: it goes only once the dependent is gone.
TEST_F(GarbageCollectorServerTest, ForegroundOwnerWaitsForADependentItsWatchHasNotDelivered) {
  for (int round = 0; round < 10; ++round) {
    const ConfigMap owner = createOwner("owner-" + std::to_string(round));
    const std::string pod = "dependent-" + std::to_string(round);
    client_->create(makeDependent(pod, owner));
    deleteWith<ConfigMap>(owner.metadata.name, "Foreground");

    // The collector deletes the dependent; the test's finalizer keeps it, and the owner waits.
    ASSERT_TRUE(eventually([&] {
      return client_->get<Pod>(ns_, pod).metadata.deletionTimestamp.has_value();
    })) << round;
    std::this_thread::sleep_for(300ms);
    ASSERT_TRUE(exists(owner.metadata.name))
        << "the owner went before its dependent, round " << round;

    client_->patch<Pod>(ns_, pod, client::PatchType::Merge, R"({"metadata":{"finalizers":null}})");
    ASSERT_TRUE(eventually([&] { return !exists(owner.metadata.name); })) << round;
  }
}

// The same race for an orphaning: a dependent the graph has not seen when its owner is deleted
// with propagationPolicy Orphan must lose its reference all the same, and must not be
// collected later from an older copy that still names the owner.
TEST_F(GarbageCollectorServerTest, OrphanedDependentOutlivesItsOwnerWhateverItsWatchDelivered) {
  for (int round = 0; round < 10; ++round) {
    const ConfigMap owner = createOwner("orphaning-" + std::to_string(round));
    const std::string pod = "orphan-" + std::to_string(round);
    auto dependent = makeDependent(pod, owner);
    dependent.metadata.finalizers.clear();
    dependent.metadata.ownerReferences.front().blockOwnerDeletion = false;
    client_->create(dependent);
    deleteWith<ConfigMap>(owner.metadata.name, "Orphan");

    ASSERT_TRUE(eventually([&] { return !exists(owner.metadata.name); })) << round;
    std::this_thread::sleep_for(300ms);
    const auto left = client_->get<Pod>(ns_, pod);
    EXPECT_FALSE(left.metadata.deletionTimestamp.has_value()) << "collected, round " << round;
    EXPECT_TRUE(left.metadata.ownerReferences.empty()) << round;
  }
}

}  // namespace
}  // namespace kite::controlplane::controllers
