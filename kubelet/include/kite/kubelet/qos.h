#pragma once
// Quality of service class of a pod, from its containers' cpu and memory
// requests and limits, by upstream's rules. It decides the pod's cgroup parent
// and its containers' oom_score_adj.

#include "kite/api/core/v1/types.h"
#include "kite/kubelet/pod_cgroups.h"

namespace kite::kubelet {

QosClass qosClassOf(const api::core::v1::PodSpec& spec);

}  // namespace kite::kubelet
