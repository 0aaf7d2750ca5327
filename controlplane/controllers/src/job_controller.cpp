#include "job_controller.h"

#include <algorithm>

#include "kite/api/batch/v1/types.h"
#include "kite/api/meta.h"
#include "workload_controller_base.h"
#include "workload_pods.h"

namespace kite::controlplane::controllers {
namespace {

using api::batch::v1::Job;
using api::batch::v1::JobCondition;

constexpr auto kMaxBackoff = std::chrono::minutes(6);

bool conditionTrue(const Job& j, std::string_view type) {
  const auto* c = api::findCondition(j.status.conditions, type);
  return c != nullptr && c->status == "True";
}

bool finished(const Job& j) { return conditionTrue(j, "Complete") || conditionTrue(j, "Failed"); }

void setCondition(Job& j, const std::string& type, const std::string& status,
                  const std::string& reason, const std::string& message, api::Time now) {
  auto* cur = api::findCondition(j.status.conditions, type);
  if (cur != nullptr && cur->status == status && cur->reason == reason) return;
  JobCondition c;
  c.type = type;
  c.status = status;
  c.reason = reason;
  c.message = message;
  c.lastProbeTime = c.lastTransitionTime = now;
  if (cur != nullptr) {
    *cur = c;
  } else {
    j.status.conditions.push_back(c);
  }
}

class JobController final : public WorkloadControllerBase {
 public:
  JobController(client::Client& client, const WorkloadControllerOptions& options)
      : WorkloadControllerBase(client, options), jobs_(client), pods_(client) {
    own(jobs_);
    own(pods_);
    pods_.addIndexer("controller", [](const Pod& p) {
      const auto* ref = api::controllerOf(p.metadata);
      return ref != nullptr ? std::vector<std::string>{ref->uid} : std::vector<std::string>{};
    });
    const auto onJob = [this](const Job& j) { enqueue(api::fullName(j.metadata)); };
    jobs_.addEventHandler({.onAdd = onJob,
                           .onUpdate = [=](const Job&, const Job& j) { onJob(j); },
                           .onDelete =
                               [this](const Job& j) {
                                 expectations_.forget(api::fullName(j.metadata));
                                 std::lock_guard lock(mutex_);
                                 failures_.erase(api::fullName(j.metadata));
                               }});
    pods_.addEventHandler({
        .onAdd =
            [this](const Pod& p) {
              if (const auto key = ownerKey(p)) {
                expectations_.creationObserved(*key);
                enqueue(*key);
              }
            },
        .onUpdate =
            [this](const Pod& old, const Pod& p) {
              if (const auto key = ownerKey(p)) {
                if (!old.metadata.deletionTimestamp && p.metadata.deletionTimestamp) {
                  expectations_.deletionObserved(*key);
                }
                enqueue(*key);
              }
            },
        .onDelete =
            [this](const Pod& p) {
              if (const auto key = ownerKey(p)) {
                if (!p.metadata.deletionTimestamp) expectations_.deletionObserved(*key);
                enqueue(*key);
              }
            },
    });
  }
  ~JobController() override { stop(); }

  std::string name() const override { return "job"; }

 private:
  static std::optional<std::string> ownerKey(const Pod& p) {
    const auto* ref = api::controllerOf(p.metadata);
    if (ref == nullptr || ref->kind != "Job") return std::nullopt;
    return api::fullName(p.metadata.namespace_, ref->name);
  }

  api::Time wallNow() const {
    return api::Time(std::chrono::time_point_cast<std::chrono::seconds>(now()));
  }

  void sync(const std::string& key) override {
    const auto cached = jobs_.cache().getByKey(key);
    if (!cached || cached->metadata.deletionTimestamp) return;
    if (finished(*cached)) return expireFinished(key, *cached);
    Job job = *cached;
    std::vector<const Pod*> active;
    std::vector<std::shared_ptr<const Pod>> pods =
        pods_.cache().byIndex("controller", job.metadata.uid);
    int32_t succeeded = 0;
    int32_t failed = 0;
    int32_t ready = 0;
    int32_t restarts = 0;
    for (const auto& p : pods) {
      if (p->status.phase == "Succeeded") ++succeeded;
      if (p->status.phase == "Failed") ++failed;
      if (!isPodActive(*p)) continue;
      active.push_back(p.get());
      if (isPodReady(*p)) ++ready;
      for (const auto& cs : p->status.containerStatuses) restarts += cs.restartCount;
    }
    // Without tracking finalizers, counts never go down when finished pods are removed.
    job.status.succeeded = std::max(job.status.succeeded, succeeded);
    job.status.failed = std::max(job.status.failed, failed);
    job.status.ready = ready;
    const auto t = wallNow();
    const bool suspended = job.spec.suspend.value_or(false);
    if (!job.status.startTime && !suspended) job.status.startTime = t;

    const int32_t backoffLimit = job.spec.backoffLimit.value_or(6);
    const bool onFailure = job.spec.template_.spec.restartPolicy == "OnFailure";
    const bool overBackoff =
        job.status.failed > backoffLimit ||
        (onFailure && (backoffLimit == 0 ? restarts > 0 : restarts >= backoffLimit));
    std::optional<std::chrono::system_clock::time_point> deadline;
    if (job.spec.activeDeadlineSeconds && job.status.startTime && !suspended) {
      deadline =
          job.status.startTime->timePoint() + std::chrono::seconds(*job.spec.activeDeadlineSeconds);
    }
    const int32_t parallelism = job.spec.parallelism.value_or(1);
    const auto completions = job.spec.completions;
    const bool complete = completions ? job.status.succeeded >= *completions
                                      : job.status.succeeded > 0 && active.empty();
    if (overBackoff) {
      fail(job, active, "BackoffLimitExceeded", "Job has reached the specified backoff limit", t);
    } else if (deadline && now() >= *deadline) {
      fail(job, active, "DeadlineExceeded", "Job was active longer than specified deadline", t);
    } else if (complete) {
      deletePods(key, active);
      job.status.active = 0;
      setCondition(job, "SuccessCriteriaMet", "True", "CompletionsReached",
                   "Reached expected number of succeeded pods", t);
      setCondition(job, "Complete", "True", "CompletionsReached",
                   "Reached expected number of succeeded pods", t);
      job.status.completionTime = t;
    } else {
      int32_t want = parallelism;
      if (completions) want = std::min(parallelism, *completions - job.status.succeeded);
      if (!completions && job.status.succeeded > 0) want = static_cast<int32_t>(active.size());
      if (suspended) want = 0;
      if (suspended) {
        setCondition(job, "Suspended", "True", "JobSuspended", "Job suspended", t);
      } else if (api::findCondition(job.status.conditions, "Suspended") != nullptr) {
        setCondition(job, "Suspended", "False", "JobResumed", "Job resumed", t);
      }
      manage(key, job, active, std::max(want, 0));
      if (deadline) enqueueAfter(key, *deadline - now() + std::chrono::milliseconds(100));
    }
    if (job.status != cached->status) client_.updateStatus(job);
  }

  void fail(Job& job, const std::vector<const Pod*>& active, const std::string& reason,
            const std::string& message, api::Time t) {
    deletePods(api::fullName(job.metadata), active);
    job.status.active = 0;
    job.status.ready = 0;
    setCondition(job, "FailureTarget", "True", reason, message, t);
    setCondition(job, "Failed", "True", reason, message, t);
  }

  void manage(const std::string& key, Job& job, const std::vector<const Pod*>& active,
              int32_t want) {
    const auto have = static_cast<int32_t>(active.size());
    job.status.active = have;
    if (!expectations_.satisfied(key)) return;
    if (have > want) {
      const auto ranked = rankPodsForDeletion(active);
      deletePods(key, {ranked.begin(), ranked.begin() + (have - want)});
      job.status.active = want;
      return;
    }
    if (have == want) return;
    if (const auto wait = backoffRemaining(key, job.status.failed); wait > wait.zero()) {
      enqueueAfter(key, wait);
      return;
    }
    const int n = want - have;
    expectations_.expectCreations(key, n);
    const auto owner = controllerRef(Job::kApiVersion, Job::kKind, job.metadata);
    for (int i = 0; i < n; ++i) {
      Pod pod =
          podFromTemplate(job.spec.template_, job.metadata.namespace_, job.metadata.name, owner);
      auto& labels = pod.metadata.labels;
      labels["batch.kubernetes.io/controller-uid"] = labels["controller-uid"] = job.metadata.uid;
      labels["batch.kubernetes.io/job-name"] = labels["job-name"] = job.metadata.name;
      try {
        client_.create(pod);
        ++job.status.active;
      } catch (...) {
        for (int j = i; j < n; ++j) expectations_.creationObserved(key);
        throw;
      }
    }
  }

  // Upstream's pod failure back-off: base * 2^(failures-1) after the latest failure, up to six
  // minutes. The time of a failure is when this controller first counted it.
  std::chrono::steady_clock::duration backoffRemaining(const std::string& key, int32_t failed) {
    if (failed <= 0) return {};
    std::lock_guard lock(mutex_);
    auto& [count, at] = failures_[key];
    if (failed > count) {
      count = failed;
      at = clock_->now();
    }
    auto delay =
        std::chrono::duration_cast<std::chrono::steady_clock::duration>(options_.jobBackoffBase);
    for (int i = 1; i < failed && delay < kMaxBackoff; ++i) delay *= 2;
    delay = std::min<std::chrono::steady_clock::duration>(delay, kMaxBackoff);
    return at + delay - clock_->now();
  }

  void deletePods(const std::string& key, const std::vector<const Pod*>& pods) {
    if (pods.empty()) return;
    expectations_.expectDeletions(key, static_cast<int>(pods.size()));
    for (const auto* p : pods) {
      try {
        client_.remove<Pod>(p->metadata.namespace_, p->metadata.name);
      } catch (const client::ApiError& e) {
        expectations_.deletionObserved(key);
        if (!e.isNotFound()) throw;
      }
    }
  }

  // ttlSecondsAfterFinished: the finished Job (and, in the foreground, its pods) is deleted.
  void expireFinished(const std::string& key, const Job& job) {
    if (!job.spec.ttlSecondsAfterFinished) return;
    api::Time finishedAt = job.status.completionTime.value_or(api::Time());
    if (finishedAt.isZero()) {
      for (const auto& c : job.status.conditions) {
        if ((c.type == "Complete" || c.type == "Failed") && c.status == "True") {
          finishedAt = c.lastTransitionTime;
        }
      }
    }
    const auto due =
        finishedAt.timePoint() + std::chrono::seconds(*job.spec.ttlSecondsAfterFinished);
    if (now() < due) {
      enqueueAfter(key, due - now() + std::chrono::milliseconds(100));
      return;
    }
    api::meta::v1::DeleteOptions options;
    options.propagationPolicy = "Foreground";
    options.preconditions.emplace().uid = job.metadata.uid;
    try {
      client_.remove<Job>(job.metadata.namespace_, job.metadata.name, options);
    } catch (const client::ApiError& e) {
      if (!e.isNotFound() && !e.isConflict()) throw;
    }
  }

  client::Informer<Job> jobs_;
  client::Informer<Pod> pods_;
  Expectations expectations_;
  std::mutex mutex_;
  std::map<std::string, std::pair<int32_t, base::Clock::Monotonic>> failures_;
};

}  // namespace

std::unique_ptr<Controller> makeJobController(client::Client& client,
                                              const WorkloadControllerOptions& options) {
  return std::make_unique<JobController>(client, options);
}

}  // namespace kite::controlplane::controllers
