#include "job_controller.h"

#include <algorithm>
#include <set>

#include "job_conditions.h"
#include "job_failure_policy.h"
#include "job_indexes.h"
#include "job_pods.h"
#include "job_replacement.h"
#include "job_success_policy.h"
#include "kite/api/batch/v1/types.h"
#include "kite/api/meta.h"
#include "workload_controller_base.h"
#include "workload_pods.h"

namespace kite::controlplane::controllers {
namespace {

using api::batch::v1::Job;
using api::batch::v1::JobCondition;

constexpr auto kMaxBackoff = std::chrono::minutes(6);

// What one sync learns from the Job's pods.
struct Census {
  std::vector<const Pod*> active;
  std::vector<const Pod*> release;  // tracked pods whose finalizer goes in this sync
  std::set<int32_t> activeIndexes;
  std::map<int32_t, int32_t> indexFailures;  // failures so far of each index
  std::optional<std::string> failJobMessage;
  int32_t ready = 0;
  int32_t restarts = 0;
  int32_t terminating = 0;  // deleted, not finished (status.terminating)
  bool recorded = false;    // a pod was added to uncountedTerminatedPods
};

class JobController final : public WorkloadControllerBase {
 public:
  JobController(client::Client& client, const std::shared_ptr<client::SharedInformers>& informers,
                const WorkloadControllerOptions& options)
      : WorkloadControllerBase(client, options, informers),
        jobs_(informers->get<Job>()),
        pods_(informers->get<Pod>()) {
    own(jobs_);
    own(pods_);
    pods_.addIndexer("owner", [](const Pod& p) {
      const auto key = ownerKey(p);
      return key ? std::vector<std::string>{*key} : std::vector<std::string>{};
    });
    const auto onJob = [this](const Job& j) { enqueue(api::fullName(j.metadata)); };
    jobs_.addEventHandler({.onAdd = onJob,
                           .onUpdate = [=](const Job&, const Job& j) { onJob(j); },
                           .onDelete =
                               [this](const Job& j) {
                                 const auto key = api::fullName(j.metadata);
                                 expectations_.forget(key);
                                 {
                                   std::lock_guard lock(mutex_);
                                   failures_.erase(key);
                                 }
                                 enqueue(key);  // releases the pods' tracking finalizers
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
                if (!hasTrackingFinalizer(p)) forgetCounted(*key, p.metadata.uid);
                enqueue(*key);
              }
            },
        .onDelete =
            [this](const Pod& p) {
              if (const auto key = ownerKey(p)) {
                if (!p.metadata.deletionTimestamp) expectations_.deletionObserved(*key);
                forgetCounted(*key, p.metadata.uid);
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
    const auto pods = pods_.cache().byIndex("owner", key);
    if (!cached || cached->metadata.deletionTimestamp || jobFinished(*cached)) {
      // A Job that is gone, going or done keeps none of its pods from being removed.
      for (const auto& p : pods) {
        if (hasTrackingFinalizer(*p)) removeTrackingFinalizer(*p);
      }
      if (cached && !cached->metadata.deletionTimestamp) expireFinished(key, *cached);
      return;
    }
    Job job = *cached;
    auto& st = job.status;
    const bool indexed = job.spec.completionMode == "Indexed";
    const int32_t completions = job.spec.completions.value_or(1);
    // Upstream's backoffLimitPerIndex; -1 when unset.
    const int32_t perIndex = indexed ? job.spec.backoffLimitPerIndex.value_or(-1) : -1;
    auto uncounted = st.uncountedTerminatedPods.value_or(api::batch::v1::UncountedTerminatedPods{});
    auto completed = indexed ? parseIndexes(st.completedIndexes, completions) : std::set<int32_t>{};
    auto failedIndexes = parseIndexes(st.failedIndexes.value_or(""), completions);

    Census census;
    for (const auto& p : pods) {
      if (!isControlledBy(p->metadata, job.metadata.uid)) {
        if (hasTrackingFinalizer(*p))
          census.release.push_back(p.get());  // an earlier Job of this name
        continue;
      }
      const auto index = indexed ? completionIndexOf(*p, completions) : std::nullopt;
      if (index && p->status.phase == "Failed") {
        auto& n = census.indexFailures[*index];
        n = std::max(n, indexFailureCount(*p) + 1);
      }
      if (isPodTerminating(*p)) ++census.terminating;
      if (awaitingTerminalPhase(job, *p)) {
        if (index) census.activeIndexes.insert(*index);  // replaced once it has failed
        continue;
      }
      if (isPodActive(*p)) {
        census.active.push_back(p.get());
        if (index) census.activeIndexes.insert(*index);
        if (isPodReady(*p)) ++census.ready;
        for (const auto& cs : p->status.containerStatuses) census.restarts += cs.restartCount;
        continue;
      }
      if (!hasTrackingFinalizer(*p)) continue;
      census.release.push_back(p.get());
      if (contains(uncounted, p->metadata.uid) || isCounted(key, p->metadata.uid)) continue;
      if (p->status.phase == "Succeeded") {
        uncounted.succeeded.push_back(p->metadata.uid);
        census.recorded = true;
        if (index) completed.insert(*index);
        continue;
      }
      // Failed, or deleted before it finished (upstream counts that as a failure too).
      std::optional<FailurePolicyMatch> match;
      if (p->status.phase == "Failed" && job.spec.podFailurePolicy) {
        match = matchPodFailurePolicy(*job.spec.podFailurePolicy, *p);
      }
      const std::string action = match ? match->action : "Count";
      if (action == "Ignore") continue;
      uncounted.failed.push_back(p->metadata.uid);
      census.recorded = true;
      if (action == "FailJob" && !census.failJobMessage) census.failJobMessage = match->message;
      if (index &&
          (action == "FailIndex" || (perIndex >= 0 && indexFailureCount(*p) + 1 > perIndex))) {
        failedIndexes.insert(*index);
      }
    }

    // Newly finished pods are recorded in uncountedTerminatedPods before their finalizers go,
    // and counted after: a restart in between neither loses nor double-counts one.
    if (census.recorded) {
      st.uncountedTerminatedPods = uncounted;
      if (indexed) st.completedIndexes = formatIndexes(completed);
      if (!failedIndexes.empty()) st.failedIndexes = formatIndexes(failedIndexes);
      job = client_.updateStatus(job);
    }
    for (const auto* p : census.release) {
      removeTrackingFinalizer(*p);
      rememberCounted(key, p->metadata.uid);
    }
    if (indexed) {
      st.succeeded = static_cast<int32_t>(completed.size());
    } else {
      st.succeeded += static_cast<int32_t>(uncounted.succeeded.size());
    }
    st.failed += static_cast<int32_t>(uncounted.failed.size());
    st.uncountedTerminatedPods = api::batch::v1::UncountedTerminatedPods{};
    decide(key, job, census, completed, failedIndexes);
    if (job.status != cached->status) client_.updateStatus(job);
  }

  // Conditions, or the pods to run next.
  void decide(const std::string& key, Job& job, const Census& census,
              const std::set<int32_t>& completed, const std::set<int32_t>& failedIndexes) {
    auto& st = job.status;
    st.ready = census.ready;
    st.terminating = census.terminating;
    const auto t = wallNow();
    const bool suspended = job.spec.suspend.value_or(false);
    if (!st.startTime && !suspended) st.startTime = t;
    const bool indexed = job.spec.completionMode == "Indexed";
    // Upstream's backoffLimitPerIndex; -1 when unset.
    const int32_t perIndex = indexed ? job.spec.backoffLimitPerIndex.value_or(-1) : -1;
    const int32_t backoffLimit = job.spec.backoffLimit.value_or(6);
    const bool onFailure = job.spec.template_.spec.restartPolicy == "OnFailure";
    // With backoffLimitPerIndex the limit is per index, not for the whole Job.
    const bool overBackoff =
        perIndex < 0 && (st.failed > backoffLimit ||
                         (onFailure && (backoffLimit == 0 ? census.restarts > 0
                                                          : census.restarts >= backoffLimit)));
    std::optional<std::chrono::system_clock::time_point> deadline;
    if (job.spec.activeDeadlineSeconds && st.startTime && !suspended) {
      deadline = st.startTime->timePoint() + std::chrono::seconds(*job.spec.activeDeadlineSeconds);
    }
    const int32_t parallelism = job.spec.parallelism.value_or(1);
    const auto completions = job.spec.completions;
    const auto done = static_cast<int32_t>(completed.size() + failedIndexes.size());
    const bool allIndexesDone = indexed && done >= completions.value_or(1);
    const bool complete = indexed       ? allIndexesDone && failedIndexes.empty()
                          : completions ? st.succeeded >= *completions
                                        : st.succeeded > 0 && census.active.empty();
    // Once the outcome is known (FailureTarget or SuccessCriteriaMet) it stays; the terminal
    // condition follows when no pod is left running or terminating.
    const auto* target = findTrueCondition(job, "FailureTarget");
    const auto* met = findTrueCondition(job, "SuccessCriteriaMet");
    const auto policyMatch =
        indexed && job.spec.successPolicy && !target && !met
            ? matchSuccessPolicy(*job.spec.successPolicy, completions.value_or(1), completed)
            : std::nullopt;
    if (target != nullptr) {
      const JobCondition outcome = *target;  // a copy: the conditions are about to change
      fail(job, census, outcome.reason, outcome.message, t);
    } else if (met != nullptr) {
      const JobCondition outcome = *met;
      succeed(job, census, outcome.reason, outcome.message, t);
    } else if (census.failJobMessage) {
      fail(job, census, "PodFailurePolicy", *census.failJobMessage, t);
    } else if (overBackoff) {
      fail(job, census, "BackoffLimitExceeded", "Job has reached the specified backoff limit", t);
    } else if (perIndex >= 0 && job.spec.maxFailedIndexes &&
               static_cast<int32_t>(failedIndexes.size()) > *job.spec.maxFailedIndexes) {
      fail(job, census, "MaxFailedIndexesExceeded",
           "Job has exceeded the specified maximal number of failed indexes", t);
    } else if (policyMatch) {
      succeed(job, census, "SuccessPolicy", *policyMatch, t);
    } else if (allIndexesDone && !failedIndexes.empty()) {
      fail(job, census, "FailedIndexes", "Job has failed indexes", t);
    } else if (deadline && now() >= *deadline) {
      fail(job, census, "DeadlineExceeded", "Job was active longer than specified deadline", t);
    } else if (complete) {
      succeed(job, census, "CompletionsReached", "Reached expected number of succeeded pods", t);
    } else {
      int32_t want = parallelism;
      if (indexed) {
        want = std::min(parallelism, *completions - done);
      } else if (completions) {
        want = std::min(parallelism, *completions - st.succeeded);
      }
      if (!completions && st.succeeded > 0) want = static_cast<int32_t>(census.active.size());
      if (suspended) {
        want = 0;
        setJobCondition(job, "Suspended", "True", "JobSuspended", "Job suspended", t);
      } else if (api::findCondition(st.conditions, "Suspended") != nullptr) {
        setJobCondition(job, "Suspended", "False", "JobResumed", "Job resumed", t);
      }
      manage(key, job, census, completed, failedIndexes, std::max(want, 0));
      if (deadline) enqueueAfter(key, *deadline - now() + std::chrono::milliseconds(100));
    }
  }

  void fail(Job& job, const Census& census, const std::string& reason, const std::string& message,
            api::Time t) {
    job.status.ready = 0;
    setJobCondition(job, "FailureTarget", "True", reason, message, t);
    terminate(job, census, "Failed", reason, message, t);
  }
  void succeed(Job& job, const Census& census, const std::string& reason,
               const std::string& message, api::Time t) {
    setJobCondition(job, "SuccessCriteriaMet", "True", reason, message, t);
    terminate(job, census, "Complete", reason, message, t);
  }
  // The remaining pods are deleted; the terminal condition (Failed or Complete, with the
  // interim condition's reason and message) once none is running or terminating, as upstream.
  void terminate(Job& job, const Census& census, const std::string& type, const std::string& reason,
                 const std::string& message, api::Time t) {
    deletePods(api::fullName(job.metadata), census.active);
    job.status.active = 0;
    const auto going = census.terminating + static_cast<int32_t>(census.active.size());
    job.status.terminating = going;
    if (going > 0) return;  // the pods' deletion brings the Job back here
    setJobCondition(job, type, "True", reason, message, t);
    if (type == "Complete") job.status.completionTime = t;
  }

  void manage(const std::string& key, Job& job, const Census& census,
              const std::set<int32_t>& completed, const std::set<int32_t>& failedIndexes,
              int32_t want) {
    const auto have = static_cast<int32_t>(census.active.size());
    job.status.active = have;
    if (!expectations_.satisfied(key)) return;
    if (have > want) {
      const auto ranked = rankPodsForDeletion(census.active);
      deletePods(key, {ranked.begin(), ranked.begin() + (have - want)});
      job.status.active = want;
      return;
    }
    // Under podReplacementPolicy Failed a terminating pod still holds its place.
    const int32_t occupied = have + (onlyReplaceFailedPods(job) ? census.terminating : 0);
    if (occupied >= want) return;
    if (const auto wait = backoffRemaining(key, job.status.failed); wait > wait.zero()) {
      enqueueAfter(key, wait);
      return;
    }
    // Indexed: the lowest indexes that are neither done nor running.
    std::vector<std::optional<int32_t>> indexes;
    if (job.spec.completionMode == "Indexed") {
      for (int32_t i = 0; i < job.spec.completions.value_or(1) && occupied + ssize(indexes) < want;
           ++i) {
        if (!completed.contains(i) && !failedIndexes.contains(i) &&
            !census.activeIndexes.contains(i)) {
          indexes.emplace_back(i);
        }
      }
    } else {
      indexes.resize(want - occupied);
    }
    const int n = static_cast<int>(indexes.size());
    expectations_.expectCreations(key, n);
    for (int i = 0; i < n; ++i) {
      try {
        const auto& failures = census.indexFailures;
        const auto it = indexes[i] ? failures.find(*indexes[i]) : failures.end();
        client_.create(jobPod(job, indexes[i], it == failures.end() ? 0 : it->second));
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

  // Pods this controller deletes itself are not counted: their finalizer goes first.
  void deletePods(const std::string& key, const std::vector<const Pod*>& pods) {
    if (pods.empty()) return;
    expectations_.expectDeletions(key, static_cast<int>(pods.size()));
    for (const auto* p : pods) {
      try {
        if (hasTrackingFinalizer(*p)) {
          removeTrackingFinalizer(*p);
          rememberCounted(key, p->metadata.uid);
        }
        client_.remove<Pod>(p->metadata.namespace_, p->metadata.name);
      } catch (const client::ApiError& e) {
        expectations_.deletionObserved(key);
        if (!e.isNotFound()) throw;
      }
    }
  }

  // A JSON patch that tests the entry first: a stale cache cannot remove another finalizer.
  void removeTrackingFinalizer(const Pod& p) {
    try {
      client_.patch<Pod>(p.metadata.namespace_, p.metadata.name, client::PatchType::Json,
                         removeTrackingFinalizerPatch(p));
    } catch (const client::ApiError& e) {
      if (!e.isNotFound()) throw;
    }
  }

  // ttlSecondsAfterFinished: the finished Job (and, in the foreground, its pods) is deleted.
  void expireFinished(const std::string& key, const Job& job);

  static bool contains(const api::batch::v1::UncountedTerminatedPods& u, const std::string& uid) {
    return std::find(u.succeeded.begin(), u.succeeded.end(), uid) != u.succeeded.end() ||
           std::find(u.failed.begin(), u.failed.end(), uid) != u.failed.end();
  }
  // Pods counted and released whose update the informer has not shown yet.
  bool isCounted(const std::string& key, const std::string& uid) {
    std::lock_guard lock(mutex_);
    const auto it = counted_.find(key);
    return it != counted_.end() && it->second.contains(uid);
  }
  void rememberCounted(const std::string& key, const std::string& uid) {
    std::lock_guard lock(mutex_);
    counted_[key].insert(uid);
  }
  void forgetCounted(const std::string& key, const std::string& uid) {
    std::lock_guard lock(mutex_);
    const auto it = counted_.find(key);
    if (it == counted_.end()) return;
    it->second.erase(uid);
    if (it->second.empty()) counted_.erase(it);
  }

  client::Informer<Job>& jobs_;
  client::Informer<Pod>& pods_;
  Expectations expectations_;
  std::mutex mutex_;
  std::map<std::string, std::pair<int32_t, base::Clock::Monotonic>> failures_;
  std::map<std::string, std::set<std::string>> counted_;
};

void JobController::expireFinished(const std::string& key, const Job& job) {
  if (!job.spec.ttlSecondsAfterFinished) return;
  api::Time finishedAt = job.status.completionTime.value_or(api::Time());
  if (finishedAt.isZero()) {
    for (const auto& c : job.status.conditions) {
      if ((c.type == "Complete" || c.type == "Failed") && c.status == "True") {
        finishedAt = c.lastTransitionTime;
      }
    }
  }
  const auto due = finishedAt.timePoint() + std::chrono::seconds(*job.spec.ttlSecondsAfterFinished);
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

}  // namespace

std::unique_ptr<Controller> makeJobController(
    client::Client& client, const std::shared_ptr<client::SharedInformers>& informers,
    const WorkloadControllerOptions& options) {
  return std::make_unique<JobController>(client, informers, options);
}

}  // namespace kite::controlplane::controllers
