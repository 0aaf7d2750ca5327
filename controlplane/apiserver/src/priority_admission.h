#pragma once
// Upstream's Priority admission plugin, on the PriorityClasses the caller read from the store:
//  - a pod created with spec.priorityClassName gets the class's value and preemptionPolicy;
//    without one it gets the globalDefault class (and its name), else priority 0 and
//    PreemptLowerPriority; an unknown class or a conflicting spec.priority is Forbidden;
//  - an update keeps the priority fields the pod was admitted with when the client left them
//    out (pod update validation refuses any other change);
//  - at most one PriorityClass may be the globalDefault.

#include <vector>

#include "kite/api/core/v1/types.h"
#include "kite/api/scheduling/v1/types.h"

namespace kite::controlplane::apiserver {

using PriorityClasses = std::vector<api::scheduling::v1::PriorityClass>;

// The globalDefault class (the lowest value if several claim it), or nullptr.
const api::scheduling::v1::PriorityClass* globalDefaultPriorityClass(
    const PriorityClasses& classes);

// Throws ApiError (403 Forbidden) as upstream refuses the pod.
void admitPodPriority(api::core::v1::Pod& pod, const PriorityClasses& classes);
void keepPodPriority(api::core::v1::Pod& pod, const api::core::v1::Pod& old);

// Throws ApiError (403 Forbidden) when `pc` claims globalDefault while another class has it.
void admitPriorityClass(const api::scheduling::v1::PriorityClass& pc,
                        const PriorityClasses& classes);

}  // namespace kite::controlplane::apiserver
