// The pure parts of the Job controller: completed-index strings, podFailurePolicy and
// successPolicy matching, podReplacementPolicy and the pods an Indexed Job makes.

#include <gtest/gtest.h>

#include "job_failure_policy.h"
#include "job_indexes.h"
#include "job_pods.h"
#include "job_replacement.h"
#include "job_success_policy.h"
#include "pod_gc.h"

namespace kite::controlplane::controllers {
namespace {

using api::batch::v1::PodFailurePolicy;
using api::batch::v1::PodFailurePolicyRule;
using api::core::v1::Pod;

TEST(JobIndexes, FormatsRunsAsRanges) {
  EXPECT_EQ(formatIndexes({}), "");
  EXPECT_EQ(formatIndexes({3}), "3");
  EXPECT_EQ(formatIndexes({0, 1, 2, 4}), "0-2,4");
  EXPECT_EQ(formatIndexes({0, 1, 5, 6, 7, 9}), "0-1,5-7,9");
}

TEST(JobIndexes, ParsesRangesBelowCompletionsAndSkipsBadParts) {
  EXPECT_EQ(parseIndexes("0-2,4", 10), (std::set<int32_t>{0, 1, 2, 4}));
  EXPECT_EQ(parseIndexes("0-2,4", 2), (std::set<int32_t>{0, 1}));
  EXPECT_EQ(parseIndexes("x,3-1,-2,5", 10), (std::set<int32_t>{5}));
  EXPECT_TRUE(parseIndexes("", 3).empty());
}

TEST(JobIndexes, PodIndexFromAnnotationThenLabel) {
  Pod p;
  EXPECT_FALSE(completionIndexOf(p, 3));
  p.metadata.labels[std::string(kJobCompletionIndexKey)] = "1";
  EXPECT_EQ(completionIndexOf(p, 3), 1);
  p.metadata.annotations[std::string(kJobCompletionIndexKey)] = "2";
  EXPECT_EQ(completionIndexOf(p, 3), 2);
  p.metadata.annotations[std::string(kJobCompletionIndexKey)] = "3";
  EXPECT_FALSE(completionIndexOf(p, 3));  // out of range
  p.metadata.annotations[std::string(kJobCompletionIndexKey)] = "a";
  EXPECT_FALSE(completionIndexOf(p, 3));
}

Pod failedPod(const std::string& container, int32_t exitCode) {
  Pod p;
  p.metadata.namespace_ = "ns";
  p.metadata.name = "p";
  p.status.phase = "Failed";
  api::core::v1::ContainerStatus cs;
  cs.name = container;
  cs.state.terminated.emplace().exitCode = exitCode;
  p.status.containerStatuses.push_back(cs);
  return p;
}

PodFailurePolicyRule exitRule(const std::string& action, const std::string& op,
                              std::vector<int32_t> values,
                              std::optional<std::string> container = {}) {
  PodFailurePolicyRule r;
  r.action = action;
  auto& e = r.onExitCodes.emplace();
  e.operator_ = op;
  e.values = std::move(values);
  e.containerName = std::move(container);
  return r;
}

TEST(PodFailurePolicyMatch, FirstMatchingExitCodeRuleWinsWithUpstreamsMessage) {
  PodFailurePolicy policy;
  policy.rules = {exitRule("Ignore", "In", {1}), exitRule("FailJob", "In", {42, 43}),
                  exitRule("Count", "In", {42})};
  const auto m = matchPodFailurePolicy(policy, failedPod("main", 42));
  ASSERT_TRUE(m);
  EXPECT_EQ(m->action, "FailJob");
  EXPECT_EQ(
      m->message,
      "Container main for pod ns/p failed with exit code 42 matching FailJob rule at index 1");
  EXPECT_EQ(matchPodFailurePolicy(policy, failedPod("main", 1))->action, "Ignore");
  EXPECT_FALSE(matchPodFailurePolicy(policy, failedPod("main", 7)));
}

TEST(PodFailurePolicyMatch, NotInNeverMatchesExitCodeZeroAndContainerNameFilters) {
  PodFailurePolicy policy;
  policy.rules = {exitRule("FailIndex", "NotIn", {5}, "worker")};
  EXPECT_FALSE(matchPodFailurePolicy(policy, failedPod("worker", 0)));
  EXPECT_FALSE(matchPodFailurePolicy(policy, failedPod("worker", 5)));
  EXPECT_FALSE(matchPodFailurePolicy(policy, failedPod("sidecar", 3)));
  EXPECT_EQ(matchPodFailurePolicy(policy, failedPod("worker", 3))->action, "FailIndex");
}

TEST(PodFailurePolicyMatch, PodConditionsAndUnknownActionsSkipped) {
  PodFailurePolicy policy;
  PodFailurePolicyRule unknown = exitRule("Restart", "In", {1});
  PodFailurePolicyRule disruption;
  disruption.action = "FailJob";
  disruption.onPodConditions.push_back({.type = "DisruptionTarget", .status = "True"});
  policy.rules = {unknown, disruption};
  auto pod = failedPod("main", 1);
  EXPECT_FALSE(matchPodFailurePolicy(policy, pod));
  api::core::v1::PodCondition c;
  c.type = "DisruptionTarget";
  c.status = "True";
  pod.status.conditions.push_back(c);
  const auto m = matchPodFailurePolicy(policy, pod);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->message, "Pod ns/p has condition DisruptionTarget matching FailJob rule at index 1");
}

TEST(JobPods, IndexedPodCarriesIndexHostnameEnvAndFinalizer) {
  api::batch::v1::Job job;
  job.metadata.name = "work";
  job.metadata.namespace_ = "ns";
  job.metadata.uid = "u1";
  job.spec.backoffLimitPerIndex = 2;
  api::core::v1::Container c;
  c.name = "main";
  job.spec.template_.spec.containers.push_back(c);
  const auto pod = jobPod(job, 3, 1);
  EXPECT_EQ(pod.metadata.generateName, "work-3-");
  EXPECT_EQ(pod.metadata.annotations.at(std::string(kJobCompletionIndexKey)), "3");
  EXPECT_EQ(pod.metadata.labels.at(std::string(kJobCompletionIndexKey)), "3");
  EXPECT_EQ(pod.metadata.annotations.at(std::string(kJobIndexFailureCountKey)), "1");
  EXPECT_EQ(pod.spec.hostname, "work-3");
  EXPECT_TRUE(hasTrackingFinalizer(pod));
  EXPECT_EQ(indexFailureCount(pod), 1);
  ASSERT_EQ(pod.spec.containers[0].env.size(), 1U);
  EXPECT_EQ(pod.spec.containers[0].env[0].name, "JOB_COMPLETION_INDEX");
  EXPECT_EQ(pod.spec.containers[0].env[0].valueFrom->fieldRef->fieldPath,
            "metadata.annotations['batch.kubernetes.io/job-completion-index']");
  const auto plain = jobPod(job, std::nullopt, 0);
  EXPECT_EQ(plain.metadata.generateName, "work-");
  EXPECT_TRUE(plain.spec.hostname.empty());
  EXPECT_TRUE(plain.spec.containers[0].env.empty());
  EXPECT_TRUE(hasTrackingFinalizer(plain));
}

TEST(JobPods, FinalizerPatchTestsTheEntryItRemoves) {
  Pod p;
  p.metadata.finalizers = {"other", std::string(kJobTrackingFinalizer)};
  EXPECT_EQ(
      removeTrackingFinalizerPatch(p),
      R"([{"op":"test","path":"/metadata/finalizers/1","value":"batch.kubernetes.io/job-tracking"},)"
      R"({"op":"remove","path":"/metadata/finalizers/1"}])");
}

api::batch::v1::SuccessPolicyRule successRule(std::optional<std::string> indexes,
                                              std::optional<int32_t> count) {
  api::batch::v1::SuccessPolicyRule r;
  r.succeededIndexes = std::move(indexes);
  r.succeededCount = count;
  return r;
}

TEST(JobSuccessPolicy, IndexesRuleNeedsAllOrTheCountOfThem) {
  api::batch::v1::SuccessPolicy policy;
  policy.rules = {successRule("0,2-3", std::nullopt)};
  EXPECT_EQ(matchSuccessPolicy(policy, 10, {0, 2}), std::nullopt);
  EXPECT_EQ(matchSuccessPolicy(policy, 10, {0, 2, 3}), "Matched rules at index 0");
  policy.rules = {successRule("0,2-3", 1)};
  EXPECT_EQ(matchSuccessPolicy(policy, 10, {1, 4}), std::nullopt);
  EXPECT_EQ(matchSuccessPolicy(policy, 10, {3}), "Matched rules at index 0");
}

TEST(JobSuccessPolicy, CountRuleRulesInOrderAndUnusableRulesSkipped) {
  api::batch::v1::SuccessPolicy policy;
  // Index 7 is not below completions (5): the rule names no index and never matches.
  policy.rules = {successRule("7", std::nullopt), successRule(std::nullopt, 2),
                  successRule("1", std::nullopt)};
  EXPECT_EQ(matchSuccessPolicy(policy, 5, {}), std::nullopt);
  EXPECT_EQ(matchSuccessPolicy(policy, 5, {1}), "Matched rules at index 2");
  EXPECT_EQ(matchSuccessPolicy(policy, 5, {1, 4}), "Matched rules at index 1");
}

TEST(JobPodReplacement, FailedPolicyOrFailurePolicyWaitsForTerminatingPodsToFail) {
  api::batch::v1::Job job;
  Pod p;
  p.metadata.deletionTimestamp = api::Time();
  p.spec.nodeName = "node-a";
  EXPECT_TRUE(isPodTerminating(p));
  EXPECT_FALSE(awaitingTerminalPhase(job, p));  // TerminatingOrFailed: replaced at once
  job.spec.podReplacementPolicy = "Failed";
  EXPECT_TRUE(awaitingTerminalPhase(job, p));
  job.spec.podReplacementPolicy = "TerminatingOrFailed";
  job.spec.podFailurePolicy.emplace();
  EXPECT_TRUE(onlyReplaceFailedPods(job));
  EXPECT_TRUE(awaitingTerminalPhase(job, p));
  p.status.phase = "Failed";
  EXPECT_FALSE(isPodTerminating(p));
  EXPECT_FALSE(awaitingTerminalPhase(job, p));
  // Never bound: it still waits for phase Failed (upstream's isPodFailed), which the pod GC
  // gives it, no kubelet being there to report one.
  p.status.phase = "Pending";
  p.spec.nodeName.clear();
  EXPECT_TRUE(awaitingTerminalPhase(job, p));
  job.spec.podFailurePolicy.reset();
  EXPECT_FALSE(awaitingTerminalPhase(job, p));  // TerminatingOrFailed: counted at once
}

TEST(PodGc, OnlyUnboundPodsBeingDeleted) {
  Pod p;
  EXPECT_FALSE(isUnscheduledTerminating(p));
  p.metadata.deletionTimestamp = api::Time();
  EXPECT_TRUE(isUnscheduledTerminating(p));
  p.spec.nodeName = "node-a";  // its kubelet finishes it
  EXPECT_FALSE(isUnscheduledTerminating(p));
}

}  // namespace
}  // namespace kite::controlplane::controllers
