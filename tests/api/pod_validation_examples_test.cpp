// The user's example workloads (examples/*.yaml at the top of the tree) must pass pod
// validation: every Pod, and the pod template of every workload, defaulted as the API server
// defaults them. A rule that refused one of them would refuse what the user ships.

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "kite/api/apps/v1/types.h"
#include "kite/api/batch/v1/types.h"
#include "kite/api/json.h"
#include "pod_validation_test_util.h"

namespace kite::api {
namespace {

using testing::describe;

std::string readFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The template defaulted the way the workload kinds default it (restartPolicy Always unless
// set, the pod defaults for the rest).
core::v1::PodTemplateSpec defaulted(core::v1::PodTemplateSpec tmpl, const char* restart) {
  core::v1::Pod pod;
  pod.spec = std::move(tmpl.spec);
  if (pod.spec.restartPolicy.empty()) pod.spec.restartPolicy = restart;
  applyPodDefaults(pod);
  tmpl.spec = std::move(pod.spec);
  return tmpl;
}

TEST(PodValidationExamples, EveryExampleValidates) {
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(KITE_EXAMPLES_DIR)) {
    if (entry.path().extension() == ".yaml") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  ASSERT_FALSE(files.empty()) << "no examples in " << KITE_EXAMPLES_DIR;
  int validated = 0;
  for (const auto& file : files) {
    const auto docs = yamlToJsonDocuments(readFile(file));
    for (std::size_t i = 0; i < docs.size(); ++i) {
      const std::string where = file.filename().string() + " document " + std::to_string(i + 1);
      const auto kind = decodeJson<meta::v1::TypeMeta>(docs[i]).kind;
      std::vector<FieldError> errors;
      if (kind == "Pod") {
        auto pod = decodeJson<core::v1::Pod>(docs[i], {.strict = true});
        applyPodDefaults(pod);
        try {
          validatePod(pod);
        } catch (const FieldErrors& e) {
          errors = e.errors();
        }
      } else if (kind == "Deployment" || kind == "ReplicaSet") {
        const auto d = decodeJson<apps::v1::Deployment>(docs[i]);
        errors = validateReplicatedPodTemplate(defaulted(d.spec.template_, "Always"),
                                               "spec.template", ReplicatedOwner::ReplicaSet);
      } else if (kind == "DaemonSet") {
        const auto d = decodeJson<apps::v1::DaemonSet>(docs[i], {.strict = true});
        errors = validateReplicatedPodTemplate(defaulted(d.spec.template_, "Always"),
                                               "spec.template", ReplicatedOwner::DaemonSet);
      } else if (kind == "StatefulSet") {
        const auto s = decodeJson<apps::v1::StatefulSet>(docs[i], {.strict = true});
        errors = validateReplicatedPodTemplate(defaulted(s.spec.template_, "Always"),
                                               "spec.template", ReplicatedOwner::StatefulSet);
      } else if (kind == "Job") {
        const auto j = decodeJson<batch::v1::Job>(docs[i], {.strict = true});
        errors = validatePodTemplateSpec(defaulted(j.spec.template_, "Never"), "spec.template");
      } else {
        continue;  // no pod spec inside
      }
      ++validated;
      EXPECT_TRUE(errors.empty()) << where << ":" << describe(errors);
    }
  }
  // The seed ships two Pods and two Deployments; more examples only add to this.
  EXPECT_GE(validated, 4) << "examples checked: " << validated;
}

}  // namespace
}  // namespace kite::api
