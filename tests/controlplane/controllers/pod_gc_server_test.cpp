// The pod garbage collector against a real `kite server --disable-agent` (its own controllers
// off): pods of deleted nodes, pods being deleted on out-of-service nodes, and terminated pods
// over the threshold. No kubelet runs: the tests write pod status and make the nodes.

#include <gtest/gtest.h>

#include <chrono>
#include <set>
#include <string>
#include <vector>

#include "kite/api/core/v1/types.h"
#include "kite/api/meta.h"
#include "kite/client/client.h"
#include "workload_server_fixture.h"

namespace kite::controlplane::controllers {
namespace {

using namespace std::chrono_literals;
using api::core::v1::Node;
using api::core::v1::Pod;

constexpr std::string_view kHold = "kite.test/hold";
constexpr std::string_view kOutOfService = "node.kubernetes.io/out-of-service";
// Generous: the pod GC acts within a quarantine and a few sweeps, but CI is loaded.
constexpr auto kWait = 30s;

// Sweeps every 100 ms and a 500 ms quarantine, so that orphans go within the tests' waits.
struct PodGcSuite : WorkloadServerSuite {
  static constexpr std::string_view kNamespacePrefix = "pgc";
  static WorkloadControllerOptions options() {
    WorkloadControllerOptions options;
    options.podGcPeriod = 100ms;
    options.podGcNodeQuarantine = 500ms;
    return options;
  }
};

// A server of its own (the threshold counts the pods of every namespace): three terminated
// pods are kept.
struct PodGcThresholdSuite : WorkloadServerSuite {
  static constexpr std::string_view kNamespacePrefix = "pgt";
  static WorkloadControllerOptions options() {
    WorkloadControllerOptions options;
    options.podGcPeriod = 100ms;
    options.terminatedPodGcThreshold = 3;
    return options;
  }
};

// Pods and nodes made through here are removed after the test, whatever its outcome.
template <class Suite>
class PodGcFixture : public WorkloadServerFixture<Suite> {
 protected:
  void TearDown() override {
    for (const auto& name : pods_) {
      try {
        auto p = this->client_->template get<Pod>(this->ns_, name);
        if (api::removeFinalizer(p.metadata, kHold)) this->client_->update(p);
        forceDelete(name);
      } catch (const client::ApiError& e) {
        if (!e.isNotFound()) ADD_FAILURE() << "pod " << name << ": " << e.what();
      }
    }
    for (const auto& name : nodes_) {
      try {
        this->client_->template remove<Node>("", name);
      } catch (const client::ApiError& e) {
        if (!e.isNotFound()) ADD_FAILURE() << "node " << name << ": " << e.what();
      }
    }
    WorkloadServerFixture<Suite>::TearDown();
  }

  // A node named after the test (nodes are not namespaced); no Ready condition: NotReady.
  std::string createNode(const std::string& suffix, bool outOfService = false) {
    Node n;
    n.metadata.name = this->ns_ + "-" + suffix;
    if (outOfService) {
      auto& t = n.spec.taints.emplace_back();
      t.key = std::string(kOutOfService);
      t.value = "nodeshutdown";
      t.effect = "NoExecute";
    }
    nodes_.push_back(n.metadata.name);
    this->client_->create(n);
    return n.metadata.name;
  }
  void setNodeReady(const std::string& name) {
    auto n = this->client_->template get<Node>("", name);
    auto& c = n.status.conditions.emplace_back();
    c.type = "Ready";
    c.status = "True";
    c.reason = "KubeletReady";
    c.lastHeartbeatTime = c.lastTransitionTime = api::Time::now();
    this->client_->updateStatus(n);
  }

  // A pod bound to node (none when empty), in the given phase; held: kept by a finalizer of the
  // test's own once deleted, so the tests can see how the pod GC left it.
  Pod createPod(const std::string& name, const std::string& node, const std::string& phase,
                bool held = false) {
    Pod p;
    p.metadata.name = name;
    p.metadata.namespace_ = this->ns_;
    if (held) p.metadata.finalizers = {std::string(kHold)};
    p.spec.nodeName = node;
    auto& c = p.spec.containers.emplace_back();
    c.name = "main";
    c.image = "busybox";
    pods_.push_back(name);
    p = this->client_->create(p);
    p.status.phase = phase;
    return this->client_->updateStatus(p);
  }
  Pod pod(const std::string& name) { return this->client_->template get<Pod>(this->ns_, name); }
  bool gone(const std::string& name) {
    try {
      pod(name);
      return false;
    } catch (const client::ApiError& e) {
      if (e.isNotFound()) return true;
      throw;
    }
  }
  void forceDelete(const std::string& name) {
    api::meta::v1::DeleteOptions now;
    now.gracePeriodSeconds = 0;
    this->client_->template remove<Pod>(this->ns_, name, now);
  }

  // Failed, force-deleted (only the test's finalizer keeps it) and marked as the pod GC's
  // disruption with this message.
  static bool failedByPodGc(const Pod& p, const std::string& message) {
    const auto* c = api::findCondition(p.status.conditions, "DisruptionTarget");
    return p.status.phase == "Failed" && p.metadata.deletionTimestamp.has_value() &&
           p.metadata.deletionGracePeriodSeconds == 0 && c != nullptr && c->status == "True" &&
           c->reason == "DeletionByPodGC" && c->message == message;
  }

  std::vector<std::string> pods_;
  std::vector<std::string> nodes_;
};

using PodGcServerTest = PodGcFixture<PodGcSuite>;
using PodGcThresholdServerTest = PodGcFixture<PodGcThresholdSuite>;

TEST_F(PodGcServerTest, PodsOfADeletedNodeAreFailedAndDeleted) {
  const auto doomed = createNode("doomed");
  const auto alive = createNode("alive");
  createPod("held", doomed, "Running", /*held=*/true);
  createPod("plain", doomed, "Running");
  createPod("safe", alive, "Running");
  client_->remove<Node>("", doomed);
  // Once the node has been missing for the quarantine and the API server confirms it, its
  // pods are marked Failed with the DisruptionTarget condition and deleted with grace 0.
  ASSERT_TRUE(eventually(
      [&] { return gone("plain") && failedByPodGc(pod("held"), "PodGC: node no longer exists"); },
      kWait));
  // The same sweeps left the pod of the node that is still there alone.
  const auto safe = pod("safe");
  EXPECT_EQ(safe.status.phase, "Running");
  EXPECT_FALSE(safe.metadata.deletionTimestamp.has_value());
  EXPECT_EQ(api::findCondition(safe.status.conditions, "DisruptionTarget"), nullptr);
}

TEST_F(PodGcServerTest, PodBoundToANodeThatNeverExistedIsDeleted) {
  createPod("stray", ns_ + "-never", "Pending", /*held=*/true);
  ASSERT_TRUE(eventually(
      [&] { return failedByPodGc(pod("stray"), "PodGC: node no longer exists"); }, kWait));
}

TEST_F(PodGcServerTest, TerminatingPodOnAnOutOfServiceNodeIsFailedAndDeleted) {
  const auto down = createNode("down", /*outOfService=*/true);
  const auto ready = createNode("ready", /*outOfService=*/true);
  setNodeReady(ready);                     // tainted but Ready: its kubelet will finish the pod
  const auto plain = createNode("plain");  // NotReady but not tainted
  createPod("on-ready", ready, "Running", /*held=*/true);
  createPod("on-plain", plain, "Running", /*held=*/true);
  createPod("on-down", down, "Running", /*held=*/true);
  createPod("not-deleted", down, "Running");
  // Deleted in this order, so that the sweep that finishes "on-down" has seen the others
  // being deleted too.
  client_->remove<Pod>(ns_, "on-ready");
  client_->remove<Pod>(ns_, "on-plain");
  client_->remove<Pod>(ns_, "on-down");
  ASSERT_TRUE(eventually(
      [&] { return failedByPodGc(pod("on-down"), "PodGC: node is out-of-service"); }, kWait));
  for (const auto* name : {"on-ready", "on-plain"}) {
    const auto p = pod(name);
    EXPECT_EQ(p.status.phase, "Running") << name;
    EXPECT_NE(p.metadata.deletionGracePeriodSeconds, 0) << name;
  }
  // Only pods being deleted are finished: the node may come back into service.
  const auto kept = pod("not-deleted");
  EXPECT_EQ(kept.status.phase, "Running");
  EXPECT_FALSE(kept.metadata.deletionTimestamp.has_value());
}

TEST_F(PodGcThresholdServerTest, TerminatedPodsOverTheThresholdGoEvictedAndOldestFirst) {
  createPod("running", "", "Running");
  for (int i = 0; i < 4; ++i)
    createPod("p-" + std::to_string(i), "", i % 2 == 0 ? "Succeeded" : "Failed");
  auto evicted = createPod("evicted", "", "Pending");
  evicted.status.phase = "Failed";
  evicted.status.reason = "Evicted";
  client_->updateStatus(evicted);
  // Five terminated pods, three kept: the evicted one goes first, then the oldest (the same
  // second: by name). The running pod is not counted.
  const std::set<std::string> kept = {"running", "p-1", "p-2", "p-3"};
  ASSERT_TRUE(eventually(
      [&] {
        std::set<std::string> names;
        for (const auto& p : client_->list<Pod>(ns_).items) names.insert(p.metadata.name);
        return names == kept;
      },
      kWait));
}

}  // namespace
}  // namespace kite::controlplane::controllers
