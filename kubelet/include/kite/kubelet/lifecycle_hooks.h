#pragma once
// postStart and preStop handlers (exec, httpGet, tcpSocket, sleep), run with
// the probe handlers' machinery. An empty result means success; otherwise it
// is the message for the FailedPostStartHook / FailedPreStopHook event.

#include <chrono>
#include <string>

#include "kite/api/core/v1/types.h"
#include "kite/cri/runtime.h"

namespace kite::kubelet {

std::string runLifecycleHook(cri::Runtime& runtime, const api::core::v1::LifecycleHandler& handler,
                             const api::core::v1::Container& container,
                             const std::string& containerId, const std::string& podIP,
                             std::chrono::seconds timeout);

}  // namespace kite::kubelet
