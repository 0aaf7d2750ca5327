#include "kite/kubelet/event_recorder.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <cstdio>

#include "kite/api/json.h"
#include "kite/client/errors.h"

namespace kite::kubelet {

namespace corev1 = api::core::v1;

namespace {

std::string objectKey(const corev1::ObjectReference& o) {
  return o.namespace_ + "/" + o.name + "/" + o.uid + "/" + o.fieldPath;
}

// Upstream names events <object>.<unix nanoseconds in hex>; never the same twice here.
std::string eventName(const std::string& objectName) {
  static std::atomic<long long> last{0};
  long long nanos = std::chrono::duration_cast<std::chrono::nanoseconds>(
                        std::chrono::system_clock::now().time_since_epoch())
                        .count();
  long long previous = last.load();
  while (true) {
    nanos = std::max(nanos, previous + 1);
    if (last.compare_exchange_weak(previous, nanos)) break;
  }
  char hex[32];
  std::snprintf(hex, sizeof hex, "%llx", static_cast<unsigned long long>(nanos));
  return objectName + "." + hex;
}

}  // namespace

EventRecorder::EventRecorder(client::Client& client, std::string nodeName, const base::Clock& clock,
                             EventRecorderOptions options)
    : client_(client), nodeName_(std::move(nodeName)), clock_(clock), options_(options) {}

EventRecorder::~EventRecorder() { stop(); }

void EventRecorder::start() {
  thread_ = std::jthread([this](const std::stop_token& stop) { run(stop); });
}

void EventRecorder::stop() {
  if (thread_.joinable()) {
    thread_.request_stop();
    thread_.join();
  }
}

void EventRecorder::record(const corev1::Pod& pod, const PodEvent& event) {
  Pending pending;
  pending.object.kind = "Pod";
  pending.object.apiVersion = "v1";
  pending.object.namespace_ = pod.metadata.namespace_;
  pending.object.name = pod.metadata.name;
  pending.object.uid = pod.metadata.uid;
  pending.object.fieldPath = event.fieldPath;
  pending.event = event;
  pending.when = api::Time(clock_.wallNow());
  std::lock_guard lock(mutex_);
  if (!allow(objectKey(pending.object))) return;
  if (queue_.size() >= options_.maxQueued) queue_.pop_front();
  queue_.push_back(std::move(pending));
  wake_.notify_all();
}

bool EventRecorder::allow(const std::string& key) {
  const auto now = clock_.now();
  auto [it, inserted] = buckets_.try_emplace(key);
  auto& bucket = it->second;
  if (inserted) {
    bucket.tokens = options_.burst;
  } else {
    const double refilled = std::chrono::duration<double>(now - bucket.last).count() /
                            std::chrono::duration<double>(options_.refill).count();
    bucket.tokens = std::min<double>(options_.burst, bucket.tokens + refilled);
  }
  bucket.last = now;
  if (bucket.tokens < 1) return false;
  bucket.tokens -= 1;
  return true;
}

void EventRecorder::forgetPod(const std::string& podUid) {
  const std::string part = "/" + podUid + "/";
  std::lock_guard lock(mutex_);
  std::erase_if(written_, [&](const auto& e) { return e.first.find(part) != std::string::npos; });
  std::erase_if(buckets_, [&](const auto& e) { return e.first.find(part) != std::string::npos; });
}

void EventRecorder::waitIdle() {
  std::unique_lock lock(mutex_);
  idle_.wait(lock, [this] { return queue_.empty() && !busy_; });
}

void EventRecorder::run(const std::stop_token& stop) {
  std::unique_lock lock(mutex_);
  while (!stop.stop_requested()) {
    if (queue_.empty()) {
      idle_.notify_all();
      wake_.wait(lock, stop, [this] { return !queue_.empty(); });
      continue;
    }
    Pending pending = std::move(queue_.front());
    queue_.pop_front();
    busy_ = true;
    lock.unlock();
    try {
      write(pending);
    } catch (const std::exception& e) {
      spdlog::warn("event {} about {}/{} not written: {}", pending.event.reason,
                   pending.object.namespace_, pending.object.name, e.what());
    }
    lock.lock();
    busy_ = false;
  }
}

void EventRecorder::write(const Pending& pending) {
  const std::string key = pending.event.type + "/" + pending.event.reason + "/" +
                          pending.event.message + "/" + objectKey(pending.object);
  std::optional<Written> seen;
  {
    std::lock_guard lock(mutex_);
    if (auto it = written_.find(key); it != written_.end()) seen = it->second;
  }
  if (seen) {
    // The same event again: one object, its count raised.
    const int32_t count = seen->count + 1;
    const std::string patch = R"({"count":)" + std::to_string(count) + R"(,"lastTimestamp":")" +
                              pending.when.rfc3339() + R"("})";
    try {
      client_.patch<corev1::Event>(pending.object.namespace_, seen->name, client::PatchType::Merge,
                                   patch);
      std::lock_guard lock(mutex_);
      written_[key].count = count;
      return;
    } catch (const client::ApiError& e) {
      if (!e.isNotFound()) throw;  // gone (expired): write a new one
    }
  }
  corev1::Event event;
  event.metadata.name = eventName(pending.object.name);
  event.metadata.namespace_ = pending.object.namespace_;
  event.involvedObject = pending.object;
  event.reason = pending.event.reason;
  event.message = pending.event.message;
  event.type = pending.event.type;
  event.source.component = "kubelet";
  event.source.host = nodeName_;
  event.firstTimestamp = pending.when;
  event.lastTimestamp = pending.when;
  event.count = 1;
  event.reportingComponent = "kubelet";
  event.reportingInstance = nodeName_;
  const auto created = client_.create(event);
  std::lock_guard lock(mutex_);
  written_[key] = {created.metadata.name, 1};
}

}  // namespace kite::kubelet
