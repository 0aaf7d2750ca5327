// The pure logic of the workload controllers: rollout arithmetic, the order surplus pods are
// deleted in, the pod-template-hash, Deployment conditions and cron schedules.

#include <gtest/gtest.h>

#include "deployment_status.h"
#include "fakes/fake_clock.h"
#include "kite/api/meta.h"
#include "workload_cron.h"
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

// FakeClock starts at 2026-01-01T00:00:00Z, a Thursday.
std::chrono::system_clock::time_point at(kite::testing::FakeClock& clock,
                                         std::chrono::minutes offset) {
  clock.advance(offset);
  return clock.wallNow();
}

TEST(CronSchedule, StepsRangesNamesAndDescriptors) {
  kite::testing::FakeClock clock;
  const auto start = clock.wallNow();
  EXPECT_EQ(CronSchedule::parse("*/15 * * * *").next(start + 7min), start + 15min);
  // Strictly after: at 00:15 the next quarter is 00:30.
  EXPECT_EQ(CronSchedule::parse("*/15 * * * *").next(start + 15min), start + 30min);
  EXPECT_EQ(CronSchedule::parse("@hourly").next(start), start + 60min);
  EXPECT_EQ(CronSchedule::parse("@daily").next(start + 1min), start + std::chrono::hours(24));
  // Saturday 2026-01-03 to Monday 09:00.
  EXPECT_EQ(CronSchedule::parse("0 9 * * MON-fri").next(start + std::chrono::hours(48)),
            start + std::chrono::hours(4 * 24 + 9));
  EXPECT_EQ(CronSchedule::parse("30 2 1 feb *").next(start),
            start + std::chrono::hours(31 * 24 + 2) + 30min);
  // Both day fields restricted: either matches (the 13th, or a Friday: 2026-01-02).
  EXPECT_EQ(CronSchedule::parse("0 0 13 * 5").next(start), start + std::chrono::hours(24));
  EXPECT_EQ(CronSchedule::parse("5-10/5 * * * *").next(start + 5min), start + 10min);
  EXPECT_FALSE(CronSchedule::parse("0 0 30 2 *").next(start).has_value());
  // Driven by the clock: a minute later the next run of "* * * * *" moves along.
  const auto t = at(clock, 90min);
  EXPECT_EQ(CronSchedule::parse("* * * * *").next(t), start + 91min);
}

TEST(CronSchedule, BadSpecsSayWhy) {
  const auto message = [](const char* spec) {
    try {
      CronSchedule::parse(spec);
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(message("* * * *"), "expected exactly 5 fields, found 4: * * * *");
  EXPECT_EQ(message("61 * * * *"), "end of range (61) above maximum (59): 61");
  EXPECT_EQ(message("* * 0 * *"), "beginning of range (0) below minimum (1): 0");
  EXPECT_EQ(message("@every 5m"), "unrecognized descriptor: @every 5m");
  EXPECT_EQ(message("x * * * *"), "failed to parse int from x");
  EXPECT_EQ(message(""), "empty spec string");
}

TEST(CronSchedule, MissedRunsAndJobNames) {
  kite::testing::FakeClock clock;
  const auto created = clock.wallNow();
  const auto now = at(clock, 5min) + std::chrono::seconds(30);
  const auto missed = mostRecentSchedule(CronSchedule::parse("* * * * *"), created, now);
  EXPECT_EQ(missed.count, 5);
  EXPECT_EQ(missed.mostRecent, created + 5min);
  // Nothing due yet.
  EXPECT_FALSE(mostRecentSchedule(CronSchedule::parse("@hourly"), created, now).mostRecent);
  // A controller down for a year: still only the latest run, quickly.
  const auto late = mostRecentSchedule(CronSchedule::parse("* * * * *"),
                                       created - std::chrono::hours(24 * 365), now);
  EXPECT_EQ(late.mostRecent, created + 5min);
  EXPECT_EQ(cronJobName("backup", created), "backup-29453760");
}

}  // namespace
}  // namespace kite::controlplane::controllers
