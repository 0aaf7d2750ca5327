// The Job controller against a real `kite server --disable-agent` (its own controllers off):
// the job-tracking finalizer, Indexed Jobs and podFailurePolicy. There is no kubelet: the
// tests finish pods by writing their status, as upstream's integration tests do.

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <thread>

#include "kite/api/batch/v1/types.h"
#include "kite/api/core/v1/types.h"
#include "kite/api/meta.h"
#include "kite/client/client.h"
#include "workload_server_fixture.h"

namespace kite::controlplane::controllers {
namespace {

using namespace std::chrono_literals;
using api::batch::v1::Job;
using api::core::v1::Pod;

constexpr std::string_view kFinalizer = "batch.kubernetes.io/job-tracking";
constexpr std::string_view kIndexKey = "batch.kubernetes.io/job-completion-index";

// A short backoff, so that replaced pods come within the tests' waits.
struct JobSuite : WorkloadServerSuite {
  static constexpr std::string_view kNamespacePrefix = "j";
  static WorkloadControllerOptions options() {
    WorkloadControllerOptions options;
    options.jobBackoffBase = 200ms;
    return options;
  }
};

class JobServerTest : public WorkloadServerFixture<JobSuite> {
 protected:
  Job makeJob(const std::string& name) {
    Job j;
    j.metadata.name = name;
    j.metadata.namespace_ = ns_;
    api::core::v1::Container c;
    c.name = "main";
    c.image = "busybox";
    j.spec.template_.spec.containers.push_back(c);
    j.spec.template_.spec.restartPolicy = "Never";
    return j;
  }
  Job job(const std::string& name) { return client_->get<Job>(ns_, name); }

  std::vector<Pod> podsOf(const std::string& job) {
    return client_->list<Pod>(ns_, {.labelSelector = "batch.kubernetes.io/job-name=" + job}).items;
  }
  std::vector<Pod> activePods(const std::string& job) {
    std::vector<Pod> out;
    for (auto& p : podsOf(job)) {
      if (!p.metadata.deletionTimestamp && p.status.phase != "Succeeded" &&
          p.status.phase != "Failed") {
        out.push_back(std::move(p));
      }
    }
    return out;
  }
  // The one active pod with this completion index, once there is exactly one.
  std::optional<Pod> activeIndex(const std::string& job, int index) {
    std::optional<Pod> found;
    for (auto& p : activePods(job)) {
      if (p.metadata.annotations[std::string(kIndexKey)] != std::to_string(index)) continue;
      if (found) return std::nullopt;
      found = std::move(p);
    }
    return found;
  }
  void finish(Pod p, const std::string& phase, int32_t exitCode = 0,
              const std::string& condition = {}) {
    p.status.phase = phase;
    api::core::v1::ContainerStatus cs;
    cs.name = "main";
    cs.state.terminated.emplace().exitCode = exitCode;
    p.status.containerStatuses = {cs};
    if (!condition.empty()) {
      api::core::v1::PodCondition c;
      c.type = condition;
      c.status = "True";
      p.status.conditions.push_back(c);
    }
    client_->updateStatus(p);
  }

  // What the scheduler does: the pod is bound to a node, so its deletion waits for a kubelet
  // (there is none) instead of removing it at once.
  void bind(const Pod& p, const std::string& node) {
    client_->call("POST", "/api/v1/namespaces/" + ns_ + "/pods/" + p.metadata.name + "/binding",
                  R"({"apiVersion":"v1","kind":"Binding","metadata":{"name":")" + p.metadata.name +
                      R"("},"target":{"kind":"Node","name":")" + node + R"("}})");
  }
  std::vector<Pod> terminatingPods(const std::string& job) {
    std::vector<Pod> out;
    for (auto& p : podsOf(job)) {
      if (p.metadata.deletionTimestamp) out.push_back(std::move(p));
    }
    return out;
  }

  static constexpr std::string_view kHold = "kite.test/hold";
  Pod deleteUnboundHeld(const std::string& jobName);
  // The held pods go, whatever the test's outcome.
  void TearDown() override {
    for (const auto& name : held_) {
      try {
        dropHold(name);
      } catch (const client::ApiError&) {
        ADD_FAILURE() << "pod " << name << " kept " << kHold;
      }
    }
    WorkloadServerFixture::TearDown();
  }
  void dropHold(const std::string& name);
  std::vector<std::string> held_;

  static bool hasFinalizer(const Pod& p) {
    const auto& f = p.metadata.finalizers;
    return std::find(f.begin(), f.end(), kFinalizer) != f.end();
  }
  static bool hasCondition(const Job& j, const std::string& type, const std::string& reason) {
    const auto* c = api::findCondition(j.status.conditions, type);
    return c != nullptr && c->status == "True" && c->reason == reason;
  }
};

TEST_F(JobServerTest, TrackingFinalizerHoldsPodsUntilCounted) {
  auto j = makeJob("track");
  j.spec.completions = 2;
  client_->create(j);
  ASSERT_TRUE(eventually([&] { return activePods("track").size() == 1; }));
  const auto first = activePods("track").front();
  EXPECT_TRUE(hasFinalizer(first));
  // A pod deleted while running is counted as failed once; its finalizer goes so it can go.
  client_->remove<Pod>(ns_, first.metadata.name);
  ASSERT_TRUE(eventually([&] {
    return job("track").status.failed == 1 && activePods("track").size() == 1 &&
           activePods("track").front().metadata.name != first.metadata.name;
  }));
  EXPECT_TRUE(eventually([&] {
    try {
      client_->get<Pod>(ns_, first.metadata.name);
      return false;
    } catch (const client::ApiError& e) {
      return e.isNotFound();
    }
  }));
  // A succeeded pod is counted, loses the finalizer, and stays (for its logs).
  auto second = activePods("track").front();
  finish(second, "Succeeded");
  ASSERT_TRUE(eventually([&] {
    const auto s = job("track").status;
    return s.succeeded == 1 && !hasFinalizer(client_->get<Pod>(ns_, second.metadata.name));
  }));
  const auto s = job("track").status;
  EXPECT_EQ(s.failed, 1);
  ASSERT_TRUE(s.uncountedTerminatedPods);
  EXPECT_TRUE(s.uncountedTerminatedPods->succeeded.empty());
  EXPECT_TRUE(s.uncountedTerminatedPods->failed.empty());
  // Deleting the Job releases the finalizer of its running pod: nothing is left behind.
  ASSERT_TRUE(eventually([&] { return activePods("track").size() == 1; }));
  client_->remove<Job>(ns_, "track");
  EXPECT_TRUE(eventually([&] { return podsOf("track").empty(); }));
}

TEST_F(JobServerTest, IndexedJobRunsEachIndexOnce) {
  auto j = makeJob("idx");
  j.spec.completionMode = "Indexed";
  j.spec.completions = 3;
  j.spec.parallelism = 2;
  client_->create(j);
  ASSERT_TRUE(eventually([&] { return activeIndex("idx", 0) && activeIndex("idx", 1); }));
  const auto zero = *activeIndex("idx", 0);
  EXPECT_EQ(zero.metadata.labels.at(std::string(kIndexKey)), "0");
  EXPECT_EQ(zero.spec.hostname, "idx-0");
  EXPECT_EQ(zero.metadata.generateName, "idx-0-");
  ASSERT_FALSE(zero.spec.containers[0].env.empty());
  EXPECT_EQ(zero.spec.containers[0].env.back().name, "JOB_COMPLETION_INDEX");
  finish(*activeIndex("idx", 1), "Succeeded");
  ASSERT_TRUE(eventually([&] { return activeIndex("idx", 2).has_value(); }));
  EXPECT_EQ(job("idx").status.completedIndexes, "1");
  // A failed index runs again.
  finish(zero, "Failed", 1);
  ASSERT_TRUE(eventually([&] {
    const auto again = activeIndex("idx", 0);
    return again && again->metadata.name != zero.metadata.name;
  }));
  finish(*activeIndex("idx", 2), "Succeeded");
  ASSERT_TRUE(eventually([&] { return job("idx").status.completedIndexes == "1-2"; }));
  finish(*activeIndex("idx", 0), "Succeeded");
  ASSERT_TRUE(
      eventually([&] { return hasCondition(job("idx"), "Complete", "CompletionsReached"); }));
  const auto s = job("idx").status;
  EXPECT_EQ(s.completedIndexes, "0-2");
  EXPECT_EQ(s.succeeded, 3);
  EXPECT_EQ(s.failed, 1);
  EXPECT_TRUE(hasCondition(job("idx"), "SuccessCriteriaMet", "CompletionsReached"));
}

TEST_F(JobServerTest, PodFailurePolicyIgnoresDisruptionAndFailsOnExitCode) {
  auto j = makeJob("policy");
  j.spec.backoffLimit = 6;
  auto& rules = j.spec.podFailurePolicy.emplace().rules;
  auto& failJob = rules.emplace_back();
  failJob.action = "FailJob";
  failJob.onExitCodes.emplace().operator_ = "In";
  failJob.onExitCodes->containerName = "main";
  failJob.onExitCodes->values = {42};
  auto& ignore = rules.emplace_back();
  ignore.action = "Ignore";
  ignore.onPodConditions.push_back({.type = "DisruptionTarget", .status = "True"});
  client_->create(j);
  ASSERT_TRUE(eventually([&] { return activePods("policy").size() == 1; }));
  const auto first = activePods("policy").front();
  // A disruption is not a failure of the Job's code: not counted, the pod is replaced.
  finish(first, "Failed", 137, "DisruptionTarget");
  ASSERT_TRUE(eventually([&] {
    const auto pods = activePods("policy");
    return pods.size() == 1 && pods.front().metadata.name != first.metadata.name &&
           !hasFinalizer(client_->get<Pod>(ns_, first.metadata.name));
  }));
  EXPECT_EQ(job("policy").status.failed, 0);
  const auto second = activePods("policy").front();
  finish(second, "Failed", 42);
  ASSERT_TRUE(
      eventually([&] { return hasCondition(job("policy"), "Failed", "PodFailurePolicy"); }));
  const auto done = job("policy");
  EXPECT_EQ(api::findCondition(done.status.conditions, "Failed")->message,
            "Container main for pod " + ns_ + "/" + second.metadata.name +
                " failed with exit code 42 matching FailJob rule at index 0");
  EXPECT_TRUE(hasCondition(done, "FailureTarget", "PodFailurePolicy"));
  EXPECT_EQ(done.status.failed, 1);
}

TEST_F(JobServerTest, FailIndexAndBackoffLimitPerIndex) {
  auto j = makeJob("perindex");
  j.spec.completionMode = "Indexed";
  j.spec.completions = 2;
  j.spec.parallelism = 2;
  j.spec.backoffLimitPerIndex = 1;
  auto& rule = j.spec.podFailurePolicy.emplace().rules.emplace_back();
  rule.action = "FailIndex";
  rule.onExitCodes.emplace().operator_ = "In";
  rule.onExitCodes->values = {3};
  client_->create(j);
  ASSERT_TRUE(eventually([&] { return activeIndex("perindex", 0) && activeIndex("perindex", 1); }));
  // Index 0 fails for good at once; index 1 gets one retry, counted on the new pod.
  finish(*activeIndex("perindex", 0), "Failed", 3);
  const auto firstOne = *activeIndex("perindex", 1);
  EXPECT_EQ(firstOne.metadata.annotations.at("batch.kubernetes.io/job-index-failure-count"), "0");
  finish(firstOne, "Failed", 1);
  ASSERT_TRUE(eventually([&] {
    const auto again = activeIndex("perindex", 1);
    return again && again->metadata.name != firstOne.metadata.name;
  }));
  EXPECT_EQ(activeIndex("perindex", 1)
                ->metadata.annotations.at("batch.kubernetes.io/job-index-failure-count"),
            "1");
  EXPECT_FALSE(activeIndex("perindex", 0));
  EXPECT_EQ(job("perindex").status.failedIndexes.value_or(""), "0");
  finish(*activeIndex("perindex", 1), "Succeeded");
  ASSERT_TRUE(eventually([&] { return hasCondition(job("perindex"), "Failed", "FailedIndexes"); }));
  const auto s = job("perindex").status;
  EXPECT_EQ(s.completedIndexes, "1");
  EXPECT_EQ(s.failedIndexes.value_or(""), "0");
  EXPECT_EQ(s.failed, 2);
}

TEST_F(JobServerTest, TerminatingPodReplacedAtOnceByDefault) {
  client_->create(makeJob("eager"));
  ASSERT_TRUE(eventually([&] { return activePods("eager").size() == 1; }));
  const auto first = activePods("eager").front();
  bind(first, "node-a");
  client_->remove<Pod>(ns_, first.metadata.name);
  // TerminatingOrFailed: the deleted pod counts as failed and is replaced while it is still
  // terminating (no kubelet finishes it here).
  ASSERT_TRUE(eventually([&] {
    const auto s = job("eager").status;
    return activePods("eager").size() == 1 && s.failed == 1 && s.terminating == 1;
  }));
  EXPECT_EQ(terminatingPods("eager").size(), 1U);
}

TEST_F(JobServerTest, PodReplacementPolicyFailedWaitsForTheTerminalPhase) {
  auto j = makeJob("patient");
  j.spec.podReplacementPolicy = "Failed";
  client_->create(j);
  ASSERT_TRUE(eventually([&] { return activePods("patient").size() == 1; }));
  const auto first = activePods("patient").front();
  bind(first, "node-a");
  client_->remove<Pod>(ns_, first.metadata.name);
  ASSERT_TRUE(eventually([&] { return job("patient").status.terminating == 1; }));
  // Not replaced, not counted, and it keeps its tracking finalizer while it terminates.
  std::this_thread::sleep_for(1s);
  EXPECT_TRUE(activePods("patient").empty());
  EXPECT_EQ(job("patient").status.failed, 0);
  EXPECT_EQ(job("patient").status.active, 0);
  EXPECT_TRUE(hasFinalizer(client_->get<Pod>(ns_, first.metadata.name)));
  // Failed at last (what its kubelet would report): counted, released, replaced.
  finish(client_->get<Pod>(ns_, first.metadata.name), "Failed", 137);
  ASSERT_TRUE(eventually([&] {
    const auto s = job("patient").status;
    return activePods("patient").size() == 1 && s.failed == 1 && s.terminating == 0;
  }));
  EXPECT_TRUE(eventually([&] { return podsOf("patient").size() == 1; }));
}

// A Job's pod held by a second finalizer (as another controller's might), deleted before any
// scheduler bound it. Returns it once deleted; TearDown lets it go.
Pod JobServerTest::deleteUnboundHeld(const std::string& jobName) {
  EXPECT_TRUE(eventually([&] { return activePods(jobName).size() == 1; }));
  auto p = modify<Pod>(activePods(jobName).front().metadata.name,
                       [](Pod& pod) { pod.metadata.finalizers.emplace_back(kHold); });
  held_.push_back(p.metadata.name);
  client_->remove<Pod>(ns_, p.metadata.name);
  return p;
}

void JobServerTest::dropHold(const std::string& name) {
  // The controllers may still be writing the pod (the pod GC's forced delete, the Job's
  // finalizer): modify reads it again on a conflict.
  modify<Pod>(name, [](Pod& p) { std::erase(p.metadata.finalizers, std::string(kHold)); });
}

TEST_F(JobServerTest, PodReplacementPolicyFailedUnboundPodFailsThroughPodGc) {
  auto j = makeJob("unbound");
  j.spec.podReplacementPolicy = "Failed";
  client_->create(j);
  const auto first = deleteUnboundHeld("unbound");
  // Upstream: no kubelet will finish it, so the pod GC marks it Failed; only then is it
  // counted and replaced, and it is no longer terminating (though its other finalizer keeps
  // it). The job-tracking finalizer goes once counted.
  ASSERT_TRUE(eventually([&] {
    const auto s = job("unbound").status;
    return activePods("unbound").size() == 1 && s.failed == 1 && s.terminating == 0;
  }));
  const auto held = client_->get<Pod>(ns_, first.metadata.name);
  EXPECT_EQ(held.status.phase, "Failed");
  EXPECT_TRUE(held.metadata.deletionTimestamp.has_value());
  EXPECT_TRUE(
      eventually([&] { return !hasFinalizer(client_->get<Pod>(ns_, first.metadata.name)); }));
  // The Job's status counts the replacement in a sync after the one that created it.
  EXPECT_TRUE(eventually([&] { return job("unbound").status.active == 1; }));
}

TEST_F(JobServerTest, UnboundPodDeletedIsReplacedAtOnceByDefaultAndMarkedFailed) {
  client_->create(makeJob("unbound-eager"));
  const auto first = deleteUnboundHeld("unbound-eager");
  // TerminatingOrFailed: counted and replaced as soon as it is deleted; the pod GC still marks
  // the pod itself Failed, as upstream's does.
  ASSERT_TRUE(eventually([&] {
    const auto s = job("unbound-eager").status;
    return activePods("unbound-eager").size() == 1 && s.failed == 1 && s.terminating == 0 &&
           client_->get<Pod>(ns_, first.metadata.name).status.phase == "Failed";
  }));
}

TEST_F(JobServerTest, SuccessPolicyCompletesIndexedJobEarly) {
  auto j = makeJob("leader");
  j.spec.completionMode = "Indexed";
  j.spec.completions = 3;
  j.spec.parallelism = 3;
  auto& rule = j.spec.successPolicy.emplace().rules.emplace_back();
  rule.succeededIndexes = "0";
  client_->create(j);
  ASSERT_TRUE(eventually([&] {
    return activeIndex("leader", 0) && activeIndex("leader", 1) && activeIndex("leader", 2);
  }));
  const auto one = *activeIndex("leader", 1);
  const auto two = *activeIndex("leader", 2);
  bind(two, "node-a");  // index 2 lingers: deleted, it waits for a kubelet
  finish(one, "Succeeded");
  ASSERT_TRUE(eventually([&] { return job("leader").status.completedIndexes == "1"; }));
  EXPECT_EQ(api::findCondition(job("leader").status.conditions, "SuccessCriteriaMet"), nullptr);
  // The leader's index succeeds: the rule is met, the lingering pods are deleted, and the Job
  // is Complete only once none is left terminating.
  finish(*activeIndex("leader", 0), "Succeeded");
  ASSERT_TRUE(eventually(
      [&] { return hasCondition(job("leader"), "SuccessCriteriaMet", "SuccessPolicy"); }));
  ASSERT_TRUE(eventually([&] { return job("leader").status.terminating == 1; }));
  auto s = job("leader");
  EXPECT_EQ(api::findCondition(s.status.conditions, "SuccessCriteriaMet")->message,
            "Matched rules at index 0");
  EXPECT_EQ(api::findCondition(s.status.conditions, "Complete"), nullptr);
  EXPECT_EQ(s.status.active, 0);
  EXPECT_TRUE(activePods("leader").empty());
  // What the kubelet would do once the container stopped: the pod goes.
  auto lingering = client_->get<Pod>(ns_, two.metadata.name);
  api::meta::v1::DeleteOptions now;
  now.gracePeriodSeconds = 0;
  client_->remove<Pod>(ns_, lingering.metadata.name, now);
  ASSERT_TRUE(eventually([&] { return hasCondition(job("leader"), "Complete", "SuccessPolicy"); }));
  s = job("leader");
  EXPECT_EQ(api::findCondition(s.status.conditions, "Complete")->message,
            "Matched rules at index 0");
  EXPECT_EQ(s.status.completedIndexes, "0-1");
  EXPECT_EQ(s.status.succeeded, 2);
  EXPECT_EQ(s.status.failed, 0);  // the pod deleted for the policy is not a failure
  EXPECT_EQ(s.status.terminating.value_or(-1), 0);
  EXPECT_TRUE(s.status.completionTime.has_value());
}

}  // namespace
}  // namespace kite::controlplane::controllers
