// The workload controllers against a real `kite server --disable-agent` with its own
// controllers off. There is no kubelet: the tests make pods run by writing their status
// (phase Running, Ready True), as upstream's integration tests do.

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>

#include <chrono>
#include <functional>
#include <set>
#include <thread>

#include "kite/api/apps/v1/types.h"
#include "kite/api/batch/v1/types.h"
#include "kite/api/core/v1/types.h"
#include "kite/api/meta.h"
#include "kite/client/client.h"
#include "workload_server_fixture.h"

namespace kite::controlplane::controllers {
namespace {

using namespace std::chrono_literals;
using api::apps::v1::Deployment;
using api::apps::v1::ReplicaSet;
using api::core::v1::Pod;

// A short backoff, so that a failing Job reaches its backoffLimit within the tests' waits.
struct WorkloadSuite : WorkloadServerSuite {
  static constexpr std::string_view kNamespacePrefix = "t";
  static WorkloadControllerOptions options() {
    WorkloadControllerOptions options;
    options.jobBackoffBase = 500ms;
    return options;
  }
};

class WorkloadServerTest : public WorkloadServerFixture<WorkloadSuite> {
 protected:
  std::vector<Pod> activePods(const std::string& selector = {}) {
    std::vector<Pod> out;
    for (auto& p : client_->list<Pod>(ns_, {.labelSelector = selector}).items) {
      if (!p.metadata.deletionTimestamp && p.status.phase != "Succeeded" &&
          p.status.phase != "Failed") {
        out.push_back(std::move(p));
      }
    }
    return out;
  }

  // What a kubelet would report: Running and Ready.
  void markRunning(Pod p) {
    p.status.phase = "Running";
    api::core::v1::PodCondition ready;
    ready.type = "Ready";
    ready.status = "True";
    ready.lastTransitionTime = api::Time::now();
    p.status.conditions = {ready};
    try {
      client_->updateStatus(p);
    } catch (const client::ApiError&) {
      // Deleted or changed meanwhile: the next round catches it.
    }
  }
  void markAllRunning(const std::string& selector = {}) {
    for (auto& p : activePods(selector)) {
      if (p.status.phase != "Running") markRunning(p);
    }
  }
  void finish(Pod p, const std::string& phase) {
    p.status.phase = phase;
    client_->updateStatus(p);
  }

  static api::core::v1::PodTemplateSpec podTemplate(const std::string& app,
                                                    const std::string& image) {
    api::core::v1::PodTemplateSpec t;
    t.metadata.labels["app"] = app;
    api::core::v1::Container c;
    c.name = "main";
    c.image = image;
    t.spec.containers.push_back(c);
    return t;
  }

  Deployment makeDeployment(const std::string& name, int replicas, const std::string& image) {
    Deployment d;
    d.metadata.name = name;
    d.metadata.namespace_ = ns_;
    d.spec.replicas = replicas;
    d.spec.selector.emplace().matchLabels["app"] = name;
    d.spec.template_ = podTemplate(name, image);
    return d;
  }

  std::vector<ReplicaSet> setsOf(const Deployment& d) {
    std::vector<ReplicaSet> out;
    for (auto& rs : client_->list<ReplicaSet>(ns_).items) {
      const auto* ref = api::controllerOf(rs.metadata);
      if (ref != nullptr && ref->uid == d.metadata.uid) out.push_back(std::move(rs));
    }
    return out;
  }

  bool rolledOut(const std::string& name, int replicas) {
    const auto d = client_->get<Deployment>(ns_, name);
    return d.status.observedGeneration >= d.metadata.generation &&
           d.status.updatedReplicas == replicas && d.status.replicas == replicas &&
           d.status.availableReplicas == replicas;
  }
};

TEST_F(WorkloadServerTest, ReplicaSetCreatesAdoptsAndDeletesPods) {
  // An orphan that matches is adopted instead of a new pod being made.
  Pod orphan;
  orphan.metadata.name = "orphan";
  orphan.metadata.namespace_ = ns_;
  orphan.metadata.labels["app"] = "rs";
  orphan.spec = podTemplate("rs", "busybox").spec;
  client_->create(orphan);
  std::this_thread::sleep_for(200ms);  // let the controller's pod cache see it

  ReplicaSet rs;
  rs.metadata.name = "rs";
  rs.metadata.namespace_ = ns_;
  rs.spec.replicas = 3;
  rs.spec.selector.emplace().matchLabels["app"] = "rs";
  rs.spec.template_ = podTemplate("rs", "busybox");
  rs = client_->create(rs);

  ASSERT_TRUE(eventually([&] {
    const auto pods = activePods("app=rs");
    return pods.size() == 3 && std::all_of(pods.begin(), pods.end(), [&](const Pod& p) {
             return api::controllerOf(p.metadata) != nullptr;
           });
  }));
  EXPECT_TRUE(api::controllerOf(client_->get<Pod>(ns_, "orphan").metadata) != nullptr);
  for (const auto& p : activePods("app=rs")) {
    const auto* ref = api::controllerOf(p.metadata);
    ASSERT_NE(ref, nullptr) << p.metadata.name;
    EXPECT_EQ(ref->uid, rs.metadata.uid);
    EXPECT_TRUE(ref->blockOwnerDeletion.value_or(false));
    if (p.metadata.name != "orphan") {
      EXPECT_EQ(p.metadata.name.rfind("rs-", 0), 0U);
    }
  }
  std::this_thread::sleep_for(300ms);  // no double creation while the cache catches up
  EXPECT_EQ(activePods("app=rs").size(), 3U);

  markAllRunning("app=rs");
  ASSERT_TRUE(eventually([&] {
    const auto s = client_->get<ReplicaSet>(ns_, "rs").status;
    return s.replicas == 3 && s.readyReplicas == 3 && s.availableReplicas == 3 &&
           s.fullyLabeledReplicas == 3 && s.observedGeneration == rs.metadata.generation;
  }));

  // Scaling down deletes the not-ready pod first.
  auto pods = activePods("app=rs");
  Pod notReady = pods.front();
  notReady.status.conditions.front().status = "False";
  client_->updateStatus(notReady);
  modify<ReplicaSet>("rs", [](ReplicaSet& r) { r.spec.replicas = 2; });
  ASSERT_TRUE(eventually([&] { return activePods("app=rs").size() == 2; }));
  for (const auto& p : activePods("app=rs")) EXPECT_NE(p.metadata.name, notReady.metadata.name);

  // A deleted pod is replaced.
  client_->remove<Pod>(ns_, activePods("app=rs").front().metadata.name);
  ASSERT_TRUE(eventually([&] {
    return activePods("app=rs").size() == 2 &&
           client_->get<ReplicaSet>(ns_, "rs").status.replicas == 2;
  }));
}

TEST_F(WorkloadServerTest, DeploymentRollingUpdateHonoursMaxUnavailableAndUndo) {
  auto d = makeDeployment("web", 4, "nginx:1");
  d.spec.strategy.type = "RollingUpdate";
  d.spec.strategy.rollingUpdate.emplace();
  d.spec.strategy.rollingUpdate->maxSurge = api::IntOrString(1);
  d.spec.strategy.rollingUpdate->maxUnavailable = api::IntOrString(1);
  d = client_->create(d);
  ASSERT_TRUE(eventually([&] {
    markAllRunning("app=web");
    return rolledOut("web", 4);
  }));
  auto first = setsOf(d);
  ASSERT_EQ(first.size(), 1U);
  EXPECT_EQ(first[0].metadata.annotations["deployment.kubernetes.io/revision"], "1");
  EXPECT_EQ(first[0].metadata.name, "web-" + first[0].metadata.labels.at("pod-template-hash"));
  auto cur = client_->get<Deployment>(ns_, "web");
  EXPECT_EQ(cur.metadata.annotations["deployment.kubernetes.io/revision"], "1");
  EXPECT_EQ(api::findCondition(cur.status.conditions, "Available")->status, "True");
  EXPECT_EQ(api::findCondition(cur.status.conditions, "Progressing")->reason,
            "NewReplicaSetAvailable");

  // Image A to B: never fewer than 3 ready (4 - maxUnavailable) nor more than 5 pods.
  modify<Deployment>("web",
                     [](Deployment& x) { x.spec.template_.spec.containers[0].image = "nginx:2"; });
  int minReady = 4;
  std::size_t maxPods = 0;
  ASSERT_TRUE(eventually(
      [&] {
        const auto pods = activePods("app=web");
        int ready = 0;
        for (const auto& p : pods) ready += p.status.phase == "Running" ? 1 : 0;
        minReady = std::min(minReady, ready);
        maxPods = std::max(maxPods, pods.size());
        markAllRunning("app=web");
        return rolledOut("web", 4);
      },
      30s));
  EXPECT_GE(minReady, 3);
  EXPECT_LE(maxPods, 5U);
  for (const auto& p : activePods("app=web")) {
    EXPECT_EQ(p.spec.containers[0].image, "nginx:2");
  }
  cur = client_->get<Deployment>(ns_, "web");
  EXPECT_EQ(cur.metadata.annotations["deployment.kubernetes.io/revision"], "2");

  // kubectl rollout undo: the old ReplicaSet's template (without its hash label) goes back
  // into the Deployment, and that ReplicaSet becomes the new one with revision 3.
  auto oldRS = client_->get<ReplicaSet>(ns_, first[0].metadata.name);
  modify<Deployment>("web", [&](Deployment& x) {
    x.spec.template_ = oldRS.spec.template_;
    x.spec.template_.metadata.labels.erase("pod-template-hash");
  });
  ASSERT_TRUE(eventually(
      [&] {
        markAllRunning("app=web");
        return rolledOut("web", 4) &&
               client_->get<ReplicaSet>(ns_, first[0].metadata.name).status.availableReplicas == 4;
      },
      30s));
  oldRS = client_->get<ReplicaSet>(ns_, first[0].metadata.name);
  EXPECT_EQ(oldRS.metadata.annotations["deployment.kubernetes.io/revision"], "3");
  EXPECT_EQ(oldRS.metadata.annotations["deployment.kubernetes.io/revision-history"], "1");
  EXPECT_EQ(setsOf(d).size(), 2U);
  for (const auto& p : activePods("app=web")) EXPECT_EQ(p.spec.containers[0].image, "nginx:1");
}

TEST_F(WorkloadServerTest, DeploymentRecreateHasNoOverlap) {
  auto d = makeDeployment("db", 2, "mysql:8");
  d.spec.strategy.type = "Recreate";
  d.spec.strategy.rollingUpdate.reset();
  d = client_->create(d);
  ASSERT_TRUE(eventually([&] {
    markAllRunning("app=db");
    return rolledOut("db", 2);
  }));
  modify<Deployment>("db",
                     [](Deployment& x) { x.spec.template_.spec.containers[0].image = "mysql:9"; });
  bool overlap = false;
  ASSERT_TRUE(eventually(
      [&] {
        bool oldImage = false;
        bool newImage = false;
        for (const auto& p : activePods("app=db")) {
          (p.spec.containers[0].image == "mysql:8" ? oldImage : newImage) = true;
        }
        overlap |= oldImage && newImage;
        markAllRunning("app=db");
        return rolledOut("db", 2) && activePods("app=db").size() == 2 &&
               activePods("app=db")[0].spec.containers[0].image == "mysql:9";
      },
      30s));
  EXPECT_FALSE(overlap);
}

TEST_F(WorkloadServerTest, DeploymentScalesAndPauses) {
  auto d = client_->create(makeDeployment("scale", 2, "nginx:1"));
  ASSERT_TRUE(eventually([&] {
    markAllRunning("app=scale");
    return rolledOut("scale", 2);
  }));
  modify<Deployment>("scale", [](Deployment& x) {
    x.spec.paused = true;
    x.spec.replicas = 3;
    x.spec.template_.spec.containers[0].image = "nginx:2";
  });
  // Paused: scaled, but no new ReplicaSet.
  ASSERT_TRUE(eventually([&] {
    markAllRunning("app=scale");
    const auto s = client_->get<Deployment>(ns_, "scale").status;
    const auto* p = api::findCondition(s.conditions, "Progressing");
    return s.availableReplicas == 3 && p != nullptr && p->reason == "DeploymentPaused";
  }));
  EXPECT_EQ(setsOf(d).size(), 1U);
  modify<Deployment>("scale", [](Deployment& x) { x.spec.paused = false; });
  ASSERT_TRUE(eventually(
      [&] {
        markAllRunning("app=scale");
        return rolledOut("scale", 3) && setsOf(d).size() == 2;
      },
      30s));
}

TEST_F(WorkloadServerTest, GarbageCollectorBackgroundDeletion) {
  auto d = client_->create(makeDeployment("bg", 2, "nginx:1"));
  ASSERT_TRUE(eventually([&] { return activePods("app=bg").size() == 2; }));
  deleteWith<Deployment>("bg", "Background");
  // The owner is gone at once; its ReplicaSet and pods follow.
  EXPECT_THROW(client_->get<Deployment>(ns_, "bg"), client::ApiError);
  ASSERT_TRUE(eventually([&] {
    return setsOf(d).empty() && client_->list<Pod>(ns_, {.labelSelector = "app=bg"}).items.empty();
  }));
}

TEST_F(WorkloadServerTest, GarbageCollectorForegroundDeletion) {
  auto d = client_->create(makeDeployment("fg", 2, "nginx:1"));
  ASSERT_TRUE(eventually([&] { return activePods("app=fg").size() == 2; }));
  deleteWith<Deployment>("fg", "Foreground");
  // The owner waits, marked, until its dependents are gone.
  bool sawMarked = false;
  try {
    const auto marked = client_->get<Deployment>(ns_, "fg");
    sawMarked = marked.metadata.deletionTimestamp.has_value() &&
                api::hasFinalizer(marked.metadata, "foregroundDeletion");
  } catch (const client::ApiError&) {
  }
  EXPECT_TRUE(sawMarked);
  ASSERT_TRUE(eventually([&] {
    const bool ownerGone = client_->list<Deployment>(ns_).items.empty();
    const bool podsGone = client_->list<Pod>(ns_, {.labelSelector = "app=fg"}).items.empty();
    // Never the owner before its pods.
    EXPECT_TRUE(!ownerGone || podsGone);
    return ownerGone && podsGone && setsOf(d).empty();
  }));
}

TEST_F(WorkloadServerTest, GarbageCollectorOrphanDeletion) {
  ReplicaSet rs;
  rs.metadata.name = "keep";
  rs.metadata.namespace_ = ns_;
  rs.spec.replicas = 2;
  rs.spec.selector.emplace().matchLabels["app"] = "keep";
  rs.spec.template_ = podTemplate("keep", "busybox");
  client_->create(rs);
  ASSERT_TRUE(eventually([&] { return activePods("app=keep").size() == 2; }));
  deleteWith<ReplicaSet>("keep", "Orphan");
  ASSERT_TRUE(eventually([&] { return client_->list<ReplicaSet>(ns_).items.empty(); }));
  std::this_thread::sleep_for(300ms);
  const auto pods = activePods("app=keep");
  ASSERT_EQ(pods.size(), 2U);
  for (const auto& p : pods) EXPECT_TRUE(p.metadata.ownerReferences.empty()) << p.metadata.name;
}

api::batch::v1::Job makeJob(const std::string& ns, const std::string& name) {
  api::batch::v1::Job j;
  j.metadata.name = name;
  j.metadata.namespace_ = ns;
  api::core::v1::Container c;
  c.name = "main";
  c.image = "busybox";
  j.spec.template_.spec.containers.push_back(c);
  j.spec.template_.spec.restartPolicy = "Never";
  return j;
}

bool hasCondition(const api::batch::v1::Job& j, const std::string& type,
                  const std::string& reason = {}) {
  const auto* c = api::findCondition(j.status.conditions, type);
  return c != nullptr && c->status == "True" && (reason.empty() || c->reason == reason);
}

TEST_F(WorkloadServerTest, JobCompletesAfterItsPodsSucceed) {
  auto j = makeJob(ns_, "work");
  j.spec.completions = 2;
  j.spec.parallelism = 1;
  j = client_->create(j);
  const std::string selector = "batch.kubernetes.io/job-name=work";
  for (int done = 0; done < 2; ++done) {
    ASSERT_TRUE(eventually([&] { return activePods(selector).size() == 1; })) << done;
    auto pod = activePods(selector).front();
    EXPECT_EQ(pod.metadata.labels["batch.kubernetes.io/controller-uid"], j.metadata.uid);
    EXPECT_EQ(pod.metadata.labels["job-name"], "work");
    EXPECT_EQ(api::controllerOf(pod.metadata)->uid, j.metadata.uid);
    ASSERT_TRUE(eventually(
        [&] { return client_->get<api::batch::v1::Job>(ns_, "work").status.active == 1; }));
    finish(pod, "Succeeded");
  }
  ASSERT_TRUE(eventually([&] {
    return hasCondition(client_->get<api::batch::v1::Job>(ns_, "work"), "Complete",
                        "CompletionsReached");
  }));
  const auto done = client_->get<api::batch::v1::Job>(ns_, "work");
  EXPECT_EQ(done.status.succeeded, 2);
  EXPECT_EQ(done.status.active, 0);
  EXPECT_TRUE(done.status.startTime.has_value());
  EXPECT_TRUE(done.status.completionTime.has_value());
  std::this_thread::sleep_for(200ms);
  EXPECT_TRUE(activePods(selector).empty());
}

TEST_F(WorkloadServerTest, JobFailsAtBackoffLimit) {
  auto j = makeJob(ns_, "flaky");
  j.spec.backoffLimit = 1;
  client_->create(j);
  const std::string selector = "batch.kubernetes.io/job-name=flaky";
  // The first failure is retried (after the back-off), the second one is over the limit.
  for (int attempt = 0; attempt < 2; ++attempt) {
    ASSERT_TRUE(eventually([&] { return activePods(selector).size() == 1; })) << attempt;
    finish(activePods(selector).front(), "Failed");
  }
  ASSERT_TRUE(eventually([&] {
    return hasCondition(client_->get<api::batch::v1::Job>(ns_, "flaky"), "Failed",
                        "BackoffLimitExceeded");
  }));
  const auto failed = client_->get<api::batch::v1::Job>(ns_, "flaky");
  EXPECT_EQ(failed.status.failed, 2);
  std::this_thread::sleep_for(700ms);  // longer than the back-off: no third pod
  EXPECT_TRUE(activePods(selector).empty());
}

TEST_F(WorkloadServerTest, JobDeadlineAndTtl) {
  auto j = makeJob(ns_, "slow");
  j.spec.activeDeadlineSeconds = 1;
  j.spec.ttlSecondsAfterFinished = 1;
  client_->create(j);
  const std::string selector = "batch.kubernetes.io/job-name=slow";
  ASSERT_TRUE(eventually([&] { return activePods(selector).size() == 1; }));
  ASSERT_TRUE(eventually([&] {
    return hasCondition(client_->get<api::batch::v1::Job>(ns_, "slow"), "Failed",
                        "DeadlineExceeded");
  }));
  EXPECT_TRUE(eventually([&] { return activePods(selector).empty(); }));
  // ttlSecondsAfterFinished: the finished Job is deleted.
  EXPECT_TRUE(eventually([&] { return client_->list<api::batch::v1::Job>(ns_).items.empty(); }));
}

// The real time plus an offset: a CronJob created now is a minute old to the controller, so a
// "* * * * *" schedule is due at once.
class AheadClock final : public base::Clock {
 public:
  explicit AheadClock(std::chrono::seconds ahead) : ahead_(ahead) {}
  Monotonic now() const override { return std::chrono::steady_clock::now() + ahead_; }
  Wall wallNow() const override { return std::chrono::system_clock::now() + ahead_; }

 private:
  std::chrono::seconds ahead_;
};

TEST_F(WorkloadServerTest, CronJobCreatesTheDueJob) {
  for (auto& c : controllers_) c->stop();
  AheadClock clock(61s);
  WorkloadControllerOptions options;
  options.clock = &clock;
  controllers_ = makeWorkloadControllers(*client_, options);
  for (auto& c : controllers_) c->start();

  api::batch::v1::CronJob cj;
  cj.metadata.name = "tick";
  cj.metadata.namespace_ = ns_;
  cj.spec.schedule = "* * * * *";
  cj.spec.concurrencyPolicy = "Forbid";
  cj.spec.jobTemplate.metadata.labels["from"] = "tick";
  cj.spec.jobTemplate.spec = makeJob(ns_, "unused").spec;
  cj = client_->create(cj);
  ASSERT_TRUE(eventually([&] {
    return client_->list<api::batch::v1::Job>(ns_, {.labelSelector = "from=tick"}).items.size() ==
           1;
  }));
  const auto job = client_->list<api::batch::v1::Job>(ns_).items.front();
  EXPECT_EQ(api::controllerOf(job.metadata)->uid, cj.metadata.uid);
  EXPECT_EQ(job.metadata.name.rfind("tick-", 0), 0U);
  const auto minutes = std::stoll(job.metadata.name.substr(5));
  const auto scheduled = std::chrono::system_clock::time_point(std::chrono::minutes(minutes));
  EXPECT_LE(scheduled, std::chrono::system_clock::now() + 61s);
  EXPECT_GT(scheduled, std::chrono::system_clock::now() - 60s);
  ASSERT_TRUE(eventually([&] {
    const auto s = client_->get<api::batch::v1::CronJob>(ns_, "tick").status;
    return s.active.size() == 1 && s.active[0].name == job.metadata.name && s.lastScheduleTime;
  }));
  // Its Job runs a pod; Forbid: no second Job while it is active.
  EXPECT_TRUE(eventually([&] { return activePods("job-name=" + job.metadata.name).size() == 1; }));
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(client_->list<api::batch::v1::Job>(ns_).items.size(), 1U);
}

// kubectl rollout is client-side: it reads exactly the fields and annotations the Deployment
// controller writes. Pods are marked running in the background meanwhile.
TEST_F(WorkloadServerTest, KubectlRolloutStatusHistoryUndoRestartPauseResume) {
  if (!std::filesystem::exists("/usr/bin/kubectl")) GTEST_SKIP() << "no kubectl";
  std::string tmpl = (std::filesystem::temp_directory_path() / "kite-rollout-XXXXXX").string();
  ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
  const std::filesystem::path cacheDir = tmpl;
  const auto kubectl = [&](const std::string& args, std::string* out = nullptr) {
    const std::string cmd = "/usr/bin/kubectl --kubeconfig " + server_->kubeconfig().string() +
                            " --cache-dir " + cacheDir.string() + " -n " + ns_ + " " + args +
                            " 2>&1";
    FILE* f = popen(cmd.c_str(), "r");
    std::string text;
    char buf[4096];
    while (f != nullptr && fgets(buf, sizeof buf, f) != nullptr) text += buf;
    const int status = f != nullptr ? pclose(f) : -1;
    if (out != nullptr) *out = text;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  };
  std::atomic<bool> done{false};
  std::thread kubelet([&] {
    while (!done) {
      try {
        markAllRunning("app=roll");
      } catch (const std::exception&) {
      }
      std::this_thread::sleep_for(100ms);
    }
  });
  std::string out;
  client_->create(makeDeployment("roll", 2, "nginx:1"));
  EXPECT_EQ(kubectl("rollout status deploy/roll --timeout=30s", &out), 0) << out;
  EXPECT_NE(out.find("successfully rolled out"), std::string::npos) << out;

  EXPECT_EQ(kubectl("set image deploy/roll main=nginx:2", &out), 0) << out;
  EXPECT_EQ(kubectl("rollout status deploy/roll --timeout=30s", &out), 0) << out;
  EXPECT_EQ(kubectl("rollout history deploy/roll", &out), 0) << out;
  EXPECT_NE(out.find("1 "), std::string::npos) << out;
  EXPECT_NE(out.find("2 "), std::string::npos) << out;

  EXPECT_EQ(kubectl("rollout undo deploy/roll", &out), 0) << out;
  EXPECT_EQ(kubectl("rollout status deploy/roll --timeout=30s", &out), 0) << out;
  auto d = client_->get<Deployment>(ns_, "roll");
  EXPECT_EQ(d.spec.template_.spec.containers[0].image, "nginx:1");
  EXPECT_EQ(d.metadata.annotations["deployment.kubernetes.io/revision"], "3");

  EXPECT_EQ(kubectl("rollout restart deploy/roll", &out), 0) << out;
  EXPECT_EQ(kubectl("rollout status deploy/roll --timeout=30s", &out), 0) << out;
  d = client_->get<Deployment>(ns_, "roll");
  EXPECT_TRUE(d.spec.template_.metadata.annotations.contains("kubectl.kubernetes.io/restartedAt"));
  EXPECT_EQ(d.metadata.annotations["deployment.kubernetes.io/revision"], "4");

  EXPECT_EQ(kubectl("rollout pause deploy/roll", &out), 0) << out;
  EXPECT_TRUE(client_->get<Deployment>(ns_, "roll").spec.paused);
  EXPECT_EQ(kubectl("rollout resume deploy/roll", &out), 0) << out;
  EXPECT_FALSE(client_->get<Deployment>(ns_, "roll").spec.paused);
  EXPECT_EQ(kubectl("rollout status deploy/roll --timeout=30s", &out), 0) << out;
  done = true;
  kubelet.join();
  std::filesystem::remove_all(cacheDir);
}

TEST_F(WorkloadServerTest, DaemonSetRunsAPodOnEachEligibleNode) {
  for (const std::string name : {"ds-a", "ds-b", "ds-tainted"}) {
    api::core::v1::Node node;
    node.metadata.name = name;
    node.metadata.labels["ds-test"] = "yes";
    if (name == "ds-tainted")
      node.spec.taints.push_back({.key = "dedicated", .value = "x", .effect = "NoSchedule"});
    client_->create(node);
  }
  api::apps::v1::DaemonSet ds;
  ds.metadata.name = "agent";
  ds.metadata.namespace_ = ns_;
  ds.spec.selector.emplace().matchLabels["app"] = "agent";
  ds.spec.template_ = podTemplate("agent", "agent:1");
  ds.spec.template_.spec.nodeSelector["ds-test"] = "yes";
  client_->create(ds);
  ASSERT_TRUE(eventually([&] { return activePods("app=agent").size() == 2; }));
  std::set<std::string> nodes;
  for (const auto& p : activePods("app=agent")) nodes.insert(p.spec.nodeName);
  EXPECT_EQ(nodes, (std::set<std::string>{"ds-a", "ds-b"}));
  markAllRunning("app=agent");
  ASSERT_TRUE(eventually([&] {
    const auto s = client_->get<api::apps::v1::DaemonSet>(ns_, "agent").status;
    return s.desiredNumberScheduled == 2 && s.currentNumberScheduled == 2 && s.numberReady == 2 &&
           s.updatedNumberScheduled == 2 && s.numberAvailable == 2;
  }));
  // A new template rolls out one node at a time.
  modify<api::apps::v1::DaemonSet>("agent", [](api::apps::v1::DaemonSet& x) {
    x.spec.template_.spec.containers[0].image = "agent:2";
  });
  int maxDown = 0;
  ASSERT_TRUE(eventually(
      [&] {
        int running = 0;
        int total = 0;
        for (const auto& p : activePods("app=agent")) {
          ++total;
          running += p.status.phase == "Running" ? 1 : 0;
        }
        maxDown = std::max(maxDown, 2 - running);
        markAllRunning("app=agent");
        const auto cur = client_->get<api::apps::v1::DaemonSet>(ns_, "agent");
        const auto& s = cur.status;
        return total == 2 && s.observedGeneration == cur.metadata.generation &&
               s.updatedNumberScheduled == 2 && s.numberAvailable == 2;
      },
      20s));
  EXPECT_LE(maxDown, 1);
  for (const auto& p : activePods("app=agent")) EXPECT_EQ(p.spec.containers[0].image, "agent:2");
  for (const std::string name : {"ds-a", "ds-b", "ds-tainted"}) {
    client_->remove<api::core::v1::Node>("", name);
  }
}

TEST_F(WorkloadServerTest, StatefulSetCreatesPodsInOrderWithTheirClaims) {
  api::apps::v1::StatefulSet ss;
  ss.metadata.name = "web";
  ss.metadata.namespace_ = ns_;
  ss.spec.replicas = 3;
  ss.spec.serviceName = "web";
  ss.spec.selector.emplace().matchLabels["app"] = "sts";
  ss.spec.template_ = podTemplate("sts", "nginx:1");
  api::core::v1::PersistentVolumeClaim claim;
  claim.metadata.name = "data";
  claim.spec.accessModes = {"ReadWriteOnce"};
  claim.spec.resources.requests["storage"] = api::Quantity::parse("1Gi");
  ss.spec.volumeClaimTemplates.push_back(claim);
  client_->create(ss);
  for (int ord = 0; ord < 3; ++ord) {
    const std::string name = "web-" + std::to_string(ord);
    ASSERT_TRUE(eventually([&] { return activePods("app=sts").size() == std::size_t(ord) + 1; }))
        << name;
    // The next one waits until this one is Running and Ready.
    std::this_thread::sleep_for(200ms);
    ASSERT_EQ(activePods("app=sts").size(), std::size_t(ord) + 1) << name;
    const auto pod = client_->get<Pod>(ns_, name);
    EXPECT_EQ(pod.spec.hostname, name);
    EXPECT_EQ(pod.spec.subdomain, "web");
    ASSERT_EQ(pod.spec.volumes.size(), 1U);
    EXPECT_EQ(pod.spec.volumes[0].persistentVolumeClaim->claimName, "data-" + name);
    EXPECT_EQ(client_->get<api::core::v1::PersistentVolumeClaim>(ns_, "data-" + name).metadata.name,
              "data-" + name);
    markRunning(pod);
  }
  ASSERT_TRUE(eventually([&] {
    const auto s = client_->get<api::apps::v1::StatefulSet>(ns_, "web").status;
    return s.replicas == 3 && s.readyReplicas == 3 && s.updatedReplicas == 3 &&
           s.currentReplicas == 3;
  }));
  // Scale down from the highest ordinal; the claims stay.
  modify<api::apps::v1::StatefulSet>("web",
                                     [](api::apps::v1::StatefulSet& x) { x.spec.replicas = 1; });
  ASSERT_TRUE(eventually([&] { return activePods("app=sts").size() == 1; }));
  EXPECT_EQ(activePods("app=sts")[0].metadata.name, "web-0");
  EXPECT_EQ(client_->list<api::core::v1::PersistentVolumeClaim>(ns_).items.size(), 3U);
}

}  // namespace
}  // namespace kite::controlplane::controllers
