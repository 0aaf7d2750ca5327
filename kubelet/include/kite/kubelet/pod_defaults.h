#pragma once
// Defaults and the checks the kubelet needs before it can run a pod that did
// not come through an API server (static pods). Upstream applies the same
// defaults in the API server; the control-plane issue moves these into api/
// so both share one implementation.

#include "kite/api/core/v1/types.h"
#include "kite/api/field_errors.h"

namespace kite::kubelet {

// restartPolicy Always, dnsPolicy ClusterFirst, terminationGracePeriodSeconds
// 30, imagePullPolicy by the tag rule, terminationMessagePath/Policy, port
// protocol TCP, probe timing defaults, requests defaulted from limits.
void applyPodDefaults(api::core::v1::Pod& pod);

// Structural checks that would otherwise fail deep inside a sync: at least
// one container, unique DNS-label container names, an image each, volumes
// referenced by mounts exist, known restart/pull policies, hostPath absolute.
// Throws api::FieldErrors naming each field.
void validatePodForKubelet(const api::core::v1::Pod& pod);

}  // namespace kite::kubelet
