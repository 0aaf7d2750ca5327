#include "event_recorder.h"

#include <spdlog/spdlog.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <utility>

namespace kite::controlplane::scheduler {

namespace {
constexpr std::size_t kMaxPending = 10'000;  // upstream's broadcaster queue length
}  // namespace

EventRecorder::EventRecorder(client::Client& client, std::string component, int workers)
    : client_(client), component_(std::move(component)) {
  for (int i = 0; i < workers; ++i) threads_.emplace_back([this] { run(); });
}

EventRecorder::~EventRecorder() { stop(); }

void EventRecorder::record(const api::core::v1::Pod& pod, std::string type, std::string reason,
                           std::string message, std::string action,
                           const api::core::v1::Pod* related) {
  api::core::v1::Event e;
  const auto now = api::Time::now();
  // Upstream names events <object>.<hex nanoseconds>.
  const auto nanos =
      std::chrono::duration_cast<std::chrono::nanoseconds>(now.value()->time_since_epoch()).count();
  std::array<char, 32> hex{};
  std::snprintf(hex.data(), hex.size(), "%llx", static_cast<unsigned long long>(nanos));
  e.metadata.name = pod.metadata.name + "." + hex.data();
  e.metadata.namespace_ = pod.metadata.namespace_;
  e.involvedObject = {.kind = "Pod",
                      .namespace_ = pod.metadata.namespace_,
                      .name = pod.metadata.name,
                      .uid = pod.metadata.uid,
                      .apiVersion = "v1",
                      .resourceVersion = pod.metadata.resourceVersion};
  e.reason = std::move(reason);
  e.message = std::move(message);
  e.type = std::move(type);
  e.action = std::move(action);
  if (related != nullptr) {
    e.related =
        api::core::v1::ObjectReference{.kind = "Pod",
                                       .namespace_ = related->metadata.namespace_,
                                       .name = related->metadata.name,
                                       .uid = related->metadata.uid,
                                       .apiVersion = "v1",
                                       .resourceVersion = related->metadata.resourceVersion};
  }
  e.source.component = component_;
  e.reportingComponent = component_;
  e.firstTimestamp = now;
  e.lastTimestamp = now;
  e.count = 1;
  std::lock_guard lock(mutex_);
  if (stopping_) return;
  if (pending_.size() >= kMaxPending) {
    spdlog::warn("scheduler: dropping event {} for pod {}/{}: too many pending", e.reason,
                 pod.metadata.namespace_, pod.metadata.name);
    return;
  }
  pending_.push_back(std::move(e));
  cv_.notify_one();
}

void EventRecorder::run() {
  for (;;) {
    api::core::v1::Event e;
    {
      std::unique_lock lock(mutex_);
      cv_.wait(lock, [&] { return stopping_ || !pending_.empty(); });
      if (stopping_) return;
      e = std::move(pending_.front());
      pending_.pop_front();
    }
    try {
      client_.create(e);
    } catch (const std::exception& ex) {
      spdlog::warn("scheduler: cannot write event {} for {}/{}: {}", e.reason,
                   e.involvedObject.namespace_, e.involvedObject.name, ex.what());
    }
  }
}

void EventRecorder::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    pending_.clear();
    cv_.notify_all();
  }
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
}

}  // namespace kite::controlplane::scheduler
