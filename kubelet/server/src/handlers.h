#pragma once
// The kubelet server's endpoints, each a function over the request once it is
// authenticated and authorized (kubelet_server.cpp routes to them).

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "kite/cri/runtime.h"
#include "kite/http/server.h"
#include "kite/kubelet/server/request_path.h"

namespace kite::kubelet::server {

http::Response textResponse(int status, const std::string& text);

// The threads reading followed logs. stop() waits for them, so none touches the runtime after
// the server has stopped.
class LogFollowers : public std::enable_shared_from_this<LogFollowers> {
 public:
  bool stopping() const { return stopping_.load(); }
  // Runs `task` on a thread of its own; false (and nothing runs) once stopping.
  bool spawn(std::function<void()> task);
  // From now on the tasks' keep-following checks say no; waits up to `wait` for them to end.
  void stop(std::chrono::milliseconds wait);

 private:
  std::atomic<bool> stopping_{false};
  std::mutex mutex_;
  std::condition_variable done_;
  int running_ = 0;
};

// /containerLogs/NS/POD/CONTAINER. A followed log is read on a thread of its own until the
// client leaves, the container stops running, or the server stops.
void serveContainerLogs(cri::Runtime& runtime, const KubeletPath& path,
                        const http::Request& request,
                        const std::shared_ptr<http::Responder>& responder,
                        const std::shared_ptr<LogFollowers>& followers);

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
