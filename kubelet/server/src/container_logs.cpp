#include <stdexcept>
#include <thread>

#include "handlers.h"
#include "kite/kubelet/server/cri_log.h"
#include "runtime_lookup.h"

namespace kite::kubelet::server {

http::Response textResponse(int status, const std::string& text) {
  http::Response response;
  response.status = status;
  response.headers.emplace_back("content-type", "text/plain; charset=utf-8");
  response.body = text;
  if (response.body.empty() || response.body.back() != '\n') {
    response.body.push_back('\n');
  }
  return response;
}

bool LogFollowers::spawn(std::function<void()> task) {
  {
    const std::lock_guard lock(mutex_);
    if (stopping_.load()) {
      return false;
    }
    ++running_;
  }
  std::thread([self = shared_from_this(), task = std::move(task)] {
    task();
    const std::lock_guard lock(self->mutex_);
    --self->running_;
    self->done_.notify_all();
  }).detach();
  return true;
}

void LogFollowers::stop(std::chrono::milliseconds wait) {
  std::unique_lock lock(mutex_);
  stopping_ = true;
  done_.wait_for(lock, wait, [&] { return running_ == 0; });
}

void serveContainerLogs(cri::Runtime& runtime, const KubeletPath& path,
                        const http::Request& request,
                        const std::shared_ptr<http::Responder>& responder,
                        const std::shared_ptr<LogFollowers>& followers) {
  if (request.method != "GET" && request.method != "HEAD") {
    responder->respond(textResponse(405, "method not allowed"));
    return;
  }
  LogOptions options;
  try {
    options = parseLogOptions(request.query);
  } catch (const std::invalid_argument& e) {
    responder->respond(textResponse(400, std::string("invalid log options: ") + e.what()));
    return;
  }
  const auto found =
      findContainer(runtime, path.namespace_, path.pod, path.container, options.previous);
  if (!found) {
    responder->respond(textResponse(404, options.previous
                                             ? "previous terminated container \"" + path.container +
                                                   "\" in pod \"" + path.pod + "\" not found"
                                             : "container \"" + path.container + "\" in pod \"" +
                                                   path.pod + "\" is not available"));
    return;
  }
  if (found->logPath.empty()) {
    responder->respond(textResponse(404, "container \"" + path.container + "\" has no log file"));
    return;
  }
  // The follow flag only matters while the container runs (upstream stops at its exit).
  options.follow = options.follow && found->running;
  auto stream = responder->startStream(200, {{"content-type", "text/plain"}});
  auto run = [&runtime, stream, options, logPath = found->logPath, id = found->id, followers] {
    int polls = 0;
    auto keepFollowing = [&] {
      if (stream->closed() || followers->stopping()) {
        return false;
      }
      // Once a second: a container that exited ends the follow, as upstream's does.
      if (++polls % 5 == 0) {
        try {
          return runtime.containerStatus(id).status().state() == cri::v1::CONTAINER_RUNNING;
        } catch (const std::exception&) {
          return false;  // removed meanwhile
        }
      }
      return true;
    };
    try {
      readContainerLog(
          logPath, options,
          [&](std::string data) {
            return data.empty() ? !stream->closed() : stream->write(std::move(data));
          },
          keepFollowing);
    } catch (const std::exception& e) {
      stream->write(std::string("error reading log: ") + e.what() + "\n");
    }
    stream->close();
  };
  // A followed log may last for hours: not on the worker pool.
  if (!options.follow || !followers->spawn(run)) {
    run();
  }
}

}  // namespace kite::kubelet::server
