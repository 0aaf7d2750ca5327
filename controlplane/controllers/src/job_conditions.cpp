#include "job_conditions.h"

#include "kite/api/meta.h"

namespace kite::controlplane::controllers {

using api::batch::v1::Job;
using api::batch::v1::JobCondition;

const JobCondition* findTrueCondition(const Job& job, std::string_view type) {
  const auto* c = api::findCondition(job.status.conditions, type);
  return c != nullptr && c->status == "True" ? c : nullptr;
}

bool jobFinished(const Job& job) {
  return findTrueCondition(job, "Complete") != nullptr ||
         findTrueCondition(job, "Failed") != nullptr;
}

void setJobCondition(Job& job, const std::string& type, const std::string& status,
                     const std::string& reason, const std::string& message, api::Time now) {
  auto* cur = api::findCondition(job.status.conditions, type);
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
    job.status.conditions.push_back(c);
  }
}

}  // namespace kite::controlplane::controllers
