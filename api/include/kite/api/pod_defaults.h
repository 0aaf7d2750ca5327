#pragma once
// Pod defaults and structural checks, shared by the API server (on every write) and the
// kubelet (static pods, which come through no API server), as upstream applies them.

#include "kite/api/core/v1/types.h"
#include "kite/api/field_errors.h"

#include <string>
#include <string_view>

namespace kite::api {

// restartPolicy Always, dnsPolicy ClusterFirst, terminationGracePeriodSeconds
// 30, imagePullPolicy by the tag rule, terminationMessagePath/Policy, port
// protocol TCP, probe timing defaults, requests defaulted from limits.
void applyPodDefaults(core::v1::Pod& pod);

// Structural checks that would otherwise fail deep inside a sync: at least
// one container, unique DNS-label container names, an image each, volumes
// referenced by mounts exist, known restart/pull policies, hostPath absolute.
// Throws api::FieldErrors naming each field.
void validatePod(const core::v1::Pod& pod);

// The imagePullPolicy a container gets when it sets none: Always for `:latest` or no tag,
// IfNotPresent for any other tag or a digest.
std::string defaultPullPolicy(std::string_view image);

// The pod's QoS class by upstream's rules: "Guaranteed", "Burstable" or "BestEffort".
std::string_view qosClassOf(const core::v1::PodSpec& spec);

}  // namespace kite::api
