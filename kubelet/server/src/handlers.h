#pragma once
// The kubelet server's endpoints, each a function over the request once it is
// authenticated and authorized (kubelet_server.cpp routes to them).

#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include "kite/cri/runtime.h"
#include "kite/http/server.h"
#include "kite/kubelet/server/request_path.h"

namespace kite::kubelet::server {

http::Response textResponse(int status, const std::string& text);

// /containerLogs/NS/POD/CONTAINER. A followed log is read on a thread of its own until the
// client leaves or `stopping` is set.
void serveContainerLogs(cri::Runtime& runtime, const KubeletPath& path,
                        const http::Request& request,
                        const std::shared_ptr<http::Responder>& responder,
                        const std::shared_ptr<std::atomic<bool>>& stopping);

// /exec, /attach, /portForward: the runtime's streaming URL, then the upgraded connection
// proxied to it.
void serveStreaming(cri::Runtime& runtime, const KubeletPath& path, http::Request& request,
                    const std::shared_ptr<http::Responder>& responder);

// /stats/summary (JSON) and /metrics (Prometheus text).
http::Response statsSummary(cri::Runtime& runtime, const std::string& nodeName);
http::Response metrics(cri::Runtime& runtime, const std::string& nodeName);
// /pods from the runtime's sandboxes.
std::string podsFromRuntime(cri::Runtime& runtime);

}  // namespace kite::kubelet::server
