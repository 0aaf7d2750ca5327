// The pure logic of the workload controllers: rollout arithmetic, the order surplus pods are
// deleted in, the pod-template-hash, Deployment conditions and cron schedules.

#include <gtest/gtest.h>

#include "deployment_status.h"
#include "kite/api/meta.h"
#include "workload_pods.h"
#include "workload_rollout.h"

namespace kite::controlplane::controllers {
namespace {

using api::IntOrString;
using namespace std::chrono_literals;

TEST(RolloutMath, PercentagesRoundSurgeUpAndUnavailableDown) {
  // 25% of 10 is 2.5: surge 3, unavailable 2 (upstream's rounding).
  const auto f = resolveFenceposts(IntOrString("25%"), IntOrString("25%"), 10);
  EXPECT_EQ(f.maxSurge, 3);
  EXPECT_EQ(f.maxUnavailable, 2);
  const auto g = resolveFenceposts(IntOrString(2), IntOrString(0), 10);
  EXPECT_EQ(g.maxSurge, 2);
  EXPECT_EQ(g.maxUnavailable, 0);
}

TEST(RolloutMath, BothZeroMakesOneUnavailable) {
  // 25% of 1 rounds down to 0 unavailable; 0% surge: one must be allowed down.
  const auto f = resolveFenceposts(IntOrString("0%"), IntOrString("25%"), 1);
  EXPECT_EQ(f.maxSurge, 0);
  EXPECT_EQ(f.maxUnavailable, 1);
}

TEST(RolloutMath, BadPercentageNamesTheField) {
  try {
    resolveFenceposts(IntOrString("abc"), IntOrString(1), 3);
    FAIL() << "no error";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("spec.strategy.rollingUpdate.maxSurge"),
              std::string::npos);
  }
}

api::core::v1::PodTemplateSpec templateWithImage(const std::string& image) {
  api::core::v1::PodTemplateSpec t;
  t.metadata.labels["app"] = "web";
  api::core::v1::Container c;
  c.name = "web";
  c.image = image;
  t.spec.containers.push_back(c);
  return t;
}

TEST(TemplateHash, StablePerTemplateAndIgnoresItsOwnLabel) {
  const auto a = templateWithImage("nginx:1");
  auto labelled = a;
  labelled.metadata.labels["pod-template-hash"] = "whatever";
  EXPECT_EQ(podTemplateHash(a, std::nullopt), podTemplateHash(a, std::nullopt));
  EXPECT_EQ(podTemplateHash(a, std::nullopt), podTemplateHash(labelled, std::nullopt));
  EXPECT_TRUE(equalIgnoringHash(a, labelled));
  EXPECT_NE(podTemplateHash(a, std::nullopt),
            podTemplateHash(templateWithImage("nginx:2"), std::nullopt));
  EXPECT_NE(podTemplateHash(a, std::nullopt), podTemplateHash(a, 1));
  for (const char c : podTemplateHash(a, std::nullopt)) {
    EXPECT_NE(std::string_view("bcdfghjklmnpqrstvwxz2456789").find(c), std::string_view::npos);
  }
}

Pod pod(const std::string& name, const std::string& node, const std::string& phase, bool ready,
        int secondsReady = 0, int restarts = 0) {
  Pod p;
  p.metadata.name = name;
  p.spec.nodeName = node;
  p.status.phase = phase;
  api::core::v1::PodCondition c;
  c.type = "Ready";
  c.status = ready ? "True" : "False";
  c.lastTransitionTime = api::Time(std::chrono::system_clock::time_point{} +
                                   std::chrono::hours(1000) - std::chrono::seconds(secondsReady));
  p.status.conditions.push_back(c);
  api::core::v1::ContainerStatus cs;
  cs.restartCount = restarts;
  p.status.containerStatuses.push_back(cs);
  return p;
}

TEST(PodRanking, UnscheduledPendingNotReadyGoFirst) {
  const Pod running = pod("running", "n1", "Running", true, 100);
  const Pod recent = pod("recent", "n1", "Running", true, 5);
  const Pod notReady = pod("not-ready", "n1", "Running", false);
  const Pod pending = pod("pending", "n1", "Pending", false);
  const Pod unscheduled = pod("unscheduled", "", "Pending", false);
  const Pod restarted = pod("restarted", "n1", "Running", false, 0, 3);
  const auto ranked =
      rankPodsForDeletion({&running, &recent, &notReady, &pending, &unscheduled, &restarted});
  std::vector<std::string> names;
  for (const auto* p : ranked) names.push_back(p->metadata.name);
  EXPECT_EQ(names, (std::vector<std::string>{"unscheduled", "pending", "restarted", "not-ready",
                                             "recent", "running"}));
}

TEST(PodAvailability, MinReadySeconds) {
  const Pod p = pod("p", "n1", "Running", true, 10);
  const auto now = std::chrono::system_clock::time_point{} + std::chrono::hours(1000);
  EXPECT_TRUE(isPodAvailable(p, 0, now));
  EXPECT_TRUE(isPodAvailable(p, 10, now));
  EXPECT_FALSE(isPodAvailable(p, 11, now));
}

Deployment deployment(int replicas) {
  Deployment d;
  d.metadata.name = "web";
  d.metadata.generation = 1;
  d.spec.replicas = replicas;
  d.spec.strategy.type = "RollingUpdate";
  d.spec.strategy.rollingUpdate.emplace();
  d.spec.strategy.rollingUpdate->maxSurge = IntOrString("25%");
  d.spec.strategy.rollingUpdate->maxUnavailable = IntOrString("25%");
  d.spec.progressDeadlineSeconds = 600;
  return d;
}

ReplicaSet replicaSet(const std::string& name, int spec, int ready) {
  ReplicaSet rs;
  rs.metadata.name = name;
  rs.spec.replicas = spec;
  rs.status.replicas = spec;
  rs.status.readyReplicas = rs.status.availableReplicas = ready;
  return rs;
}

TEST(DeploymentStatus, AvailableAndProgressingConditions) {
  const auto now = std::chrono::system_clock::time_point{} + std::chrono::hours(1000);
  Deployment d = deployment(4);
  const ReplicaSet old = replicaSet("web-old", 1, 1);
  const ReplicaSet next = replicaSet("web-new", 4, 2);
  auto s = calculateStatus(d, {old, next}, &next, now);
  EXPECT_EQ(s.replicas, 5);
  EXPECT_EQ(s.updatedReplicas, 4);
  EXPECT_EQ(s.availableReplicas, 3);
  EXPECT_EQ(s.unavailableReplicas, 2);
  // maxUnavailable 1 of 4: 3 available is enough.
  EXPECT_EQ(api::findCondition(s.conditions, "Available")->reason, "MinimumReplicasAvailable");
  const auto recheck = updateProgressing(d, s, &next, now);
  ASSERT_TRUE(recheck.has_value());
  EXPECT_EQ(api::findCondition(s.conditions, "Progressing")->reason, "ReplicaSetUpdated");
  EXPECT_EQ(api::findCondition(s.conditions, "Progressing")->message,
            "ReplicaSet \"web-new\" is progressing.");

  // No progress for longer than the deadline: ProgressDeadlineExceeded.
  d.status = s;
  auto later = calculateStatus(d, {old, next}, &next, now + 601s);
  updateProgressing(d, later, &next, now + 601s);
  EXPECT_EQ(api::findCondition(later.conditions, "Progressing")->reason,
            "ProgressDeadlineExceeded");
  EXPECT_EQ(api::findCondition(later.conditions, "Progressing")->status, "False");

  // All new and available: complete.
  Deployment done = deployment(4);
  const ReplicaSet full = replicaSet("web-new", 4, 4);
  auto c = calculateStatus(done, {full}, &full, now);
  updateProgressing(done, c, &full, now);
  EXPECT_TRUE(deploymentComplete(done, c));
  EXPECT_EQ(api::findCondition(c.conditions, "Progressing")->reason, "NewReplicaSetAvailable");
  EXPECT_EQ(api::findCondition(c.conditions, "Progressing")->message,
            "ReplicaSet \"web-new\" has successfully progressed.");
}

TEST(DeploymentStatus, UnavailableBelowMinimum) {
  const auto now = std::chrono::system_clock::time_point{} + std::chrono::hours(1000);
  const Deployment d = deployment(4);
  const ReplicaSet rs = replicaSet("web-new", 4, 2);
  const auto s = calculateStatus(d, {rs}, &rs, now);
  EXPECT_EQ(api::findCondition(s.conditions, "Available")->status, "False");
  EXPECT_EQ(api::findCondition(s.conditions, "Available")->reason, "MinimumReplicasUnavailable");
}

}  // namespace
}  // namespace kite::controlplane::controllers
