#pragma once
// Helpers for the pod validation tests: a valid defaulted pod to change one thing in, and an
// assertion that names the field path and error type upstream would report.

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "kite/api/core/v1/types.h"
#include "kite/api/field_errors.h"
#include "kite/api/pod_defaults.h"
#include "kite/api/pod_validation.h"

namespace kite::api::testing {

// One container "app" (nginx:1.25) with a volume "data" (emptyDir) mounted at /data.
inline core::v1::Pod validPod() {
  core::v1::Pod pod;
  pod.metadata.name = "web";
  pod.metadata.namespace_ = "default";
  core::v1::Container c;
  c.name = "app";
  c.image = "nginx:1.25";
  c.volumeMounts.push_back({.name = "data", .mountPath = "/data"});
  pod.spec.containers.push_back(c);
  core::v1::Volume v;
  v.name = "data";
  v.emptyDir.emplace();
  pod.spec.volumes.push_back(v);
  return pod;
}

// Defaults the pod as the API server does, then validates its spec at "spec".
inline std::vector<FieldError> validate(core::v1::Pod pod) {
  applyPodDefaults(pod);
  return validatePodSpec(pod.spec, "spec");
}

inline std::string describe(const std::vector<FieldError>& errors) {
  std::string out;
  for (const auto& e : errors) {
    out += "\n  " + std::string(errorTypeName(e.type)) + " " + e.message();
  }
  return out.empty() ? "\n  (no errors)" : out;
}

// An error of that type at exactly that field, whose detail contains detail.
inline ::testing::AssertionResult hasError(const std::vector<FieldError>& errors,
                                           std::string_view field, ErrorType type,
                                           std::string_view detail = {}) {
  for (const auto& e : errors) {
    if (e.field == field && e.type == type && e.detail.find(detail) != std::string::npos) {
      return ::testing::AssertionSuccess();
    }
  }
  return ::testing::AssertionFailure() << "no " << errorTypeName(type) << " at " << field
                                       << " with \"" << detail << "\"; got:" << describe(errors);
}

inline ::testing::AssertionResult noErrors(const std::vector<FieldError>& errors) {
  if (errors.empty()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "unexpected errors:" << describe(errors);
}

}  // namespace kite::api::testing
