#include "cronjob_controller.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>

#include "kite/api/batch/v1/types.h"
#include "kite/api/meta.h"
#include "workload_controller_base.h"
#include "workload_cron.h"
#include "workload_pods.h"

namespace kite::controlplane::controllers {
namespace {

using api::batch::v1::CronJob;
using api::batch::v1::Job;

std::optional<std::string> finishedAs(const Job& j) {
  for (const auto& c : j.status.conditions) {
    if ((c.type == "Complete" || c.type == "Failed") && c.status == "True") return c.type;
  }
  return std::nullopt;
}

api::Time seconds(std::chrono::system_clock::time_point t) {
  return api::Time(std::chrono::time_point_cast<std::chrono::seconds>(t));
}

class CronJobController final : public WorkloadControllerBase {
 public:
  CronJobController(client::Client& client,
                    const std::shared_ptr<client::SharedInformers>& informers,
                    const WorkloadControllerOptions& options)
      : WorkloadControllerBase(client, options, informers),
        cronJobs_(informers->get<CronJob>()),
        jobs_(informers->get<Job>()) {
    own(cronJobs_);
    own(jobs_);
    jobs_.addIndexer("controller", [](const Job& j) {
      const auto* ref = api::controllerOf(j.metadata);
      return ref != nullptr ? std::vector<std::string>{ref->uid} : std::vector<std::string>{};
    });
    const auto onCronJob = [this](const CronJob& c) { enqueue(api::fullName(c.metadata)); };
    cronJobs_.addEventHandler(
        {.onAdd = onCronJob, .onUpdate = [=](const CronJob&, const CronJob& c) { onCronJob(c); }});
    const auto onJob = [this](const Job& j) {
      const auto* ref = api::controllerOf(j.metadata);
      if (ref != nullptr && ref->kind == "CronJob") {
        enqueue(api::fullName(j.metadata.namespace_, ref->name));
      }
    };
    jobs_.addEventHandler({.onAdd = onJob,
                           .onUpdate = [=](const Job&, const Job& j) { onJob(j); },
                           .onDelete = onJob});
  }
  ~CronJobController() override { stop(); }

  std::string name() const override { return "cronjob"; }

 private:
  void sync(const std::string& key) override {
    const auto cached = cronJobs_.cache().getByKey(key);
    if (!cached || cached->metadata.deletionTimestamp) return;
    CronJob cj = *cached;
    std::vector<Job> jobs;
    for (const auto& j : jobs_.cache().byIndex("controller", cj.metadata.uid)) jobs.push_back(*j);
    reconcileActive(cj, jobs);
    pruneHistory(cj, jobs);
    const auto t = now();
    if (!cj.spec.suspend.value_or(false)) schedule(key, cj, jobs, t);
    if (cj.status != cached->status) client_.updateStatus(cj);
  }

  // status.active lists the unfinished Jobs; finished ones leave it (a success is recorded).
  void reconcileActive(CronJob& cj, const std::vector<Job>& jobs) {
    std::vector<api::core::v1::ObjectReference> active;
    for (const auto& j : jobs) {
      justCreated_.erase(j.metadata.uid);  // seen by the informer now
      const auto done = finishedAs(j);
      if (!done) {
        api::core::v1::ObjectReference ref;
        ref.apiVersion = std::string(Job::kApiVersion);
        ref.kind = std::string(Job::kKind);
        ref.namespace_ = j.metadata.namespace_;
        ref.name = j.metadata.name;
        ref.uid = j.metadata.uid;
        ref.resourceVersion = j.metadata.resourceVersion;
        active.push_back(ref);
      } else if (*done == "Complete" && j.status.completionTime &&
                 (!cj.status.lastSuccessfulTime ||
                  *cj.status.lastSuccessfulTime < *j.status.completionTime)) {
        cj.status.lastSuccessfulTime = j.status.completionTime;
      }
    }
    // Jobs just created may not be in the cache yet: keep their references.
    for (const auto& ref : cj.status.active) {
      const bool known = std::any_of(jobs.begin(), jobs.end(),
                                     [&](const Job& j) { return j.metadata.uid == ref.uid; });
      if (!known && justCreated_.contains(ref.uid)) active.push_back(ref);
    }
    std::sort(active.begin(), active.end(),
              [](const auto& a, const auto& b) { return a.name < b.name; });
    // Keep the server's order when nothing changed.
    auto sortedOld = cj.status.active;
    std::sort(sortedOld.begin(), sortedOld.end(),
              [](const auto& a, const auto& b) { return a.name < b.name; });
    bool same = sortedOld.size() == active.size();
    for (std::size_t i = 0; same && i < active.size(); ++i)
      same = sortedOld[i].uid == active[i].uid;
    if (!same) cj.status.active = active;
  }

  void pruneHistory(const CronJob& cj, const std::vector<Job>& jobs) {
    for (const auto& [kind, limit] :
         {std::pair<std::string, int32_t>{"Complete",
                                          cj.spec.successfulJobsHistoryLimit.value_or(3)},
          std::pair<std::string, int32_t>{"Failed", cj.spec.failedJobsHistoryLimit.value_or(1)}}) {
      std::vector<const Job*> done;
      for (const auto& j : jobs) {
        if (finishedAs(j) == kind && !j.metadata.deletionTimestamp) done.push_back(&j);
      }
      if (static_cast<int32_t>(done.size()) <= limit) continue;
      std::sort(done.begin(), done.end(), [](const Job* a, const Job* b) {
        const auto sa = a->status.startTime.value_or(a->metadata.creationTimestamp);
        const auto sb = b->status.startTime.value_or(b->metadata.creationTimestamp);
        return sa != sb ? sa < sb : a->metadata.name < b->metadata.name;
      });
      for (std::size_t i = 0; i + static_cast<std::size_t>(limit) < done.size(); ++i) {
        deleteJob(*done[i]);
      }
    }
  }

  void deleteJob(const Job& j) {
    api::meta::v1::DeleteOptions options;
    options.propagationPolicy = "Background";
    try {
      client_.remove<Job>(j.metadata.namespace_, j.metadata.name, options);
    } catch (const client::ApiError& e) {
      if (!e.isNotFound()) throw;
    }
  }

  void schedule(const std::string& key, CronJob& cj, const std::vector<Job>& jobs,
                std::chrono::system_clock::time_point t) {
    CronSchedule sched;
    try {
      sched = CronSchedule::parse(cj.spec.schedule);
    } catch (const std::invalid_argument& e) {
      spdlog::warn("cronjob {}: unparseable schedule \"{}\": {}", key, cj.spec.schedule, e.what());
      return;  // a new spec brings a new event
    }
    if (cj.spec.timeZone && *cj.spec.timeZone != "UTC" && *cj.spec.timeZone != "Etc/UTC") {
      spdlog::warn("cronjob {}: timeZone {} is read as UTC", key, *cj.spec.timeZone);
    }
    auto earliest = cj.status.lastScheduleTime.value_or(cj.metadata.creationTimestamp).timePoint();
    if (cj.spec.startingDeadlineSeconds) {
      earliest = std::max(earliest, t - std::chrono::seconds(*cj.spec.startingDeadlineSeconds));
    }
    const auto missed = mostRecentSchedule(sched, earliest, t);
    if (const auto next = sched.next(t)) {
      enqueueAfter(key, *next - t + std::chrono::milliseconds(100));
    }
    if (!missed.mostRecent) return;
    const auto scheduled = *missed.mostRecent;
    if (cj.spec.startingDeadlineSeconds &&
        scheduled + std::chrono::seconds(*cj.spec.startingDeadlineSeconds) < t) {
      return;  // missed its window
    }
    const std::string jobName = cronJobName(cj.metadata.name, scheduled);
    const bool exists = std::any_of(jobs.begin(), jobs.end(),
                                    [&](const Job& j) { return j.metadata.name == jobName; });
    if (exists) return;
    if (cj.spec.concurrencyPolicy == "Forbid" && !cj.status.active.empty()) return;
    if (cj.spec.concurrencyPolicy == "Replace") {
      for (const auto& ref : cj.status.active) {
        for (const auto& j : jobs) {
          if (j.metadata.uid == ref.uid) deleteJob(j);
        }
      }
      cj.status.active.clear();
    }
    Job job;
    job.metadata.name = jobName;
    job.metadata.namespace_ = cj.metadata.namespace_;
    job.metadata.labels = cj.spec.jobTemplate.metadata.labels;
    job.metadata.annotations = cj.spec.jobTemplate.metadata.annotations;
    job.metadata.annotations["batch.kubernetes.io/cronjob-scheduled-timestamp"] =
        seconds(scheduled).rfc3339();
    job.metadata.ownerReferences.push_back(
        controllerRef(CronJob::kApiVersion, CronJob::kKind, cj.metadata));
    job.spec = cj.spec.jobTemplate.spec;
    try {
      job = client_.create(job);
    } catch (const client::ApiError& e) {
      if (!e.isAlreadyExists()) throw;
      cj.status.lastScheduleTime = seconds(scheduled);
      return;
    }
    justCreated_.insert(job.metadata.uid);
    api::core::v1::ObjectReference ref;
    ref.apiVersion = std::string(Job::kApiVersion);
    ref.kind = std::string(Job::kKind);
    ref.namespace_ = job.metadata.namespace_;
    ref.name = job.metadata.name;
    ref.uid = job.metadata.uid;
    ref.resourceVersion = job.metadata.resourceVersion;
    cj.status.active.push_back(ref);
    cj.status.lastScheduleTime = seconds(scheduled);
  }

  client::Informer<CronJob>& cronJobs_;
  client::Informer<Job>& jobs_;
  std::set<std::string> justCreated_;  // worker thread only
};

}  // namespace

std::unique_ptr<Controller> makeCronJobController(
    client::Client& client, const std::shared_ptr<client::SharedInformers>& informers,
    const WorkloadControllerOptions& options) {
  return std::make_unique<CronJobController>(client, informers, options);
}

}  // namespace kite::controlplane::controllers
