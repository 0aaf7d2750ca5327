#include "job_pods.h"

#include <algorithm>

#include "job_indexes.h"
#include "workload_pods.h"

namespace kite::controlplane::controllers {

bool hasTrackingFinalizer(const api::core::v1::Pod& pod) {
  const auto& f = pod.metadata.finalizers;
  return std::find(f.begin(), f.end(), kJobTrackingFinalizer) != f.end();
}

int32_t indexFailureCount(const api::core::v1::Pod& pod) {
  const auto it = pod.metadata.annotations.find(std::string(kJobIndexFailureCountKey));
  if (it == pod.metadata.annotations.end()) return 0;
  try {
    return std::max(0, std::stoi(it->second));
  } catch (const std::exception&) {
    return 0;  // not ours to reject: treated as no earlier failures
  }
}

api::core::v1::Pod jobPod(const api::batch::v1::Job& job, std::optional<int32_t> index,
                          int32_t indexFailures) {
  const auto& name = job.metadata.name;
  const auto owner =
      controllerRef(api::batch::v1::Job::kApiVersion, api::batch::v1::Job::kKind, job.metadata);
  const std::string prefix = index ? name + "-" + std::to_string(*index) : name;
  Pod pod = podFromTemplate(job.spec.template_, job.metadata.namespace_, prefix, owner);
  auto& labels = pod.metadata.labels;
  labels["batch.kubernetes.io/controller-uid"] = labels["controller-uid"] = job.metadata.uid;
  labels["batch.kubernetes.io/job-name"] = labels["job-name"] = name;
  pod.metadata.finalizers.emplace_back(kJobTrackingFinalizer);
  if (!index) return pod;
  const std::string key(kJobCompletionIndexKey);
  pod.metadata.annotations[key] = labels[key] = std::to_string(*index);
  pod.spec.hostname = prefix;
  if (job.spec.backoffLimitPerIndex) {
    pod.metadata.annotations[std::string(kJobIndexFailureCountKey)] = std::to_string(indexFailures);
  }
  for (auto* list : {&pod.spec.initContainers, &pod.spec.containers}) {
    for (auto& c : *list) {
      if (std::any_of(c.env.begin(), c.env.end(),
                      [](const auto& e) { return e.name == "JOB_COMPLETION_INDEX"; })) {
        continue;
      }
      api::core::v1::EnvVar env;
      env.name = "JOB_COMPLETION_INDEX";
      env.valueFrom.emplace().fieldRef.emplace().fieldPath = "metadata.annotations['" + key + "']";
      c.env.push_back(std::move(env));
    }
  }
  return pod;
}

std::string removeTrackingFinalizerPatch(const api::core::v1::Pod& pod) {
  const auto& f = pod.metadata.finalizers;
  const auto at = std::to_string(std::find(f.begin(), f.end(), kJobTrackingFinalizer) - f.begin());
  const std::string path = "/metadata/finalizers/" + at;
  return R"([{"op":"test","path":")" + path + R"(","value":")" +
         std::string(kJobTrackingFinalizer) + R"("},{"op":"remove","path":")" + path + R"("}])";
}

}  // namespace kite::controlplane::controllers
