#pragma once
// Pod spec validation with upstream's field paths, error types and wording, so that kubectl
// prints `The Pod "x" is invalid: spec.containers[0].ports[0].containerPort: Invalid value:
// 70000: must be between 1 and 65535, inclusive` as it would against a real API server.
// Callers validate after defaulting (applyPodDefaults), as upstream's registry does.

#include <iterator>
#include <string_view>
#include <vector>

#include "kite/api/core/v1/types.h"
#include "kite/api/field_errors.h"

namespace kite::api {

// Every rule for a pod spec found at fieldPrefix ("spec" for a Pod, "spec.template.spec" for
// a Deployment): volumes, containers and init containers (names, images, ports, env, mounts,
// probes, lifecycle, resources, security context), restart and DNS policies, DNS config,
// host network ports, grace periods and deadlines.
std::vector<FieldError> validatePodSpec(const core::v1::PodSpec& spec,
                                        std::string_view fieldPrefix);

// A pod template at fieldPrefix ("spec.template"): its spec at fieldPrefix + ".spec", and no
// ephemeral containers.
std::vector<FieldError> validatePodTemplateSpec(const core::v1::PodTemplateSpec& tmpl,
                                                std::string_view fieldPrefix);

// The controllers whose pods run for good; upstream words the deadline error after them.
enum class ReplicatedOwner {
  ReplicaSet,  // ReplicaSets and Deployments
  DaemonSet,
  StatefulSet,
};

// validatePodTemplateSpec, and what pods that are restarted forever need: restartPolicy
// Always and no activeDeadlineSeconds.
std::vector<FieldError> validateReplicatedPodTemplate(const core::v1::PodTemplateSpec& tmpl,
                                                      std::string_view fieldPrefix,
                                                      ReplicatedOwner owner);

// A whole Pod: metadata.name set, and validatePodSpec(pod.spec, "spec"). Throws
// api::FieldErrors naming each field.
void validatePod(const core::v1::Pod& pod);

// Appends from to to (call sites that collect errors of several parts).
inline void appendErrors(std::vector<FieldError>& to, std::vector<FieldError> from) {
  to.insert(to.end(), std::make_move_iterator(from.begin()), std::make_move_iterator(from.end()));
}

}  // namespace kite::api
