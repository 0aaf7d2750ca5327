#include "kite/kubelet/status_manager.h"

#include <spdlog/spdlog.h>

#include "kite/api/json.h"
#include "kite/client/errors.h"

namespace kite::kubelet {

namespace corev1 = api::core::v1;

namespace {

// The conditions the kubelet owns; others (readiness gates, DisruptionTarget) are the API's.
bool kubeletOwns(const std::string& type) {
  return type == "PodScheduled" || type == "Initialized" || type == "ContainersReady" ||
         type == "Ready" || type == "PodReadyToStartContainers";
}

// The kubelet's status with the conditions others set on the object kept.
corev1::PodStatus merged(const corev1::PodStatus& ours, const corev1::PodStatus& current) {
  corev1::PodStatus out = ours;
  for (const auto& condition : current.conditions) {
    if (kubeletOwns(condition.type)) continue;
    bool present = false;
    for (const auto& c : out.conditions) present = present || c.type == condition.type;
    if (!present) out.conditions.push_back(condition);
  }
  if (out.nominatedNodeName.empty()) out.nominatedNodeName = current.nominatedNodeName;
  return out;
}

std::string who(const corev1::Pod& pod) {
  return pod.metadata.namespace_ + "/" + pod.metadata.name;
}

}  // namespace

std::string comparableStatus(const corev1::PodStatus& status) {
  corev1::PodStatus copy = status;
  for (auto& condition : copy.conditions) condition.lastProbeTime = {};
  return api::encodeJson(copy);
}

StatusManager::StatusManager(client::Client& client, std::chrono::milliseconds retryDelay)
    : client_(client), retryDelay_(retryDelay) {}

StatusManager::~StatusManager() { stop(); }

void StatusManager::start() {
  thread_ = std::jthread([this](const std::stop_token& stop) { run(stop); });
}

void StatusManager::stop() {
  if (thread_.joinable()) {
    thread_.request_stop();
    thread_.join();
  }
}

void StatusManager::setStatus(const corev1::Pod& pod) {
  std::lock_guard lock(mutex_);
  const std::string& uid = pod.metadata.uid;
  if (deleted_.contains(uid)) return;
  auto it = pending_.find(uid);
  if (it != pending_.end() && it->second.remove) return;  // the final status wins
  if (it == pending_.end()) {
    const auto last = written_.find(uid);
    if (last != written_.end() && last->second == comparableStatus(pod.status)) return;
  }
  pending_[uid] = {pod, false};
  wake_.notify_all();
}

void StatusManager::terminated(const corev1::Pod& pod) {
  std::lock_guard lock(mutex_);
  if (deleted_.contains(pod.metadata.uid)) return;
  pending_[pod.metadata.uid] = {pod, true};
  wake_.notify_all();
}

void StatusManager::waitIdle() {
  std::unique_lock lock(mutex_);
  idle_.wait(lock, [this] { return pending_.empty() && retry_.empty() && !busy_; });
}

std::size_t StatusManager::writes() const {
  std::lock_guard lock(mutex_);
  return writes_;
}

void StatusManager::run(const std::stop_token& stop) {
  std::unique_lock lock(mutex_);
  while (!stop.stop_requested()) {
    if (pending_.empty()) {
      if (retry_.empty()) {
        idle_.notify_all();
        wake_.wait(lock, stop, [this] { return !pending_.empty(); });
        continue;
      }
      // Only failed writes are left: wait a little (new work ends the wait), then retry them
      // unless a newer status for the same pod came meanwhile.
      wake_.wait_for(lock, stop, retryDelay_, [this] { return !pending_.empty(); });
      for (auto& [uid, work] : retry_) pending_.try_emplace(uid, std::move(work));
      retry_.clear();
      continue;
    }
    auto node = pending_.extract(pending_.begin());
    busy_ = true;
    lock.unlock();
    bool done = false;
    try {
      done = process(node.mapped());
    } catch (const std::exception& e) {
      spdlog::warn("pod {}: status update failed: {}", who(node.mapped().pod), e.what());
    }
    lock.lock();
    busy_ = false;
    if (!done && !pending_.contains(node.key())) retry_.insert(std::move(node));
  }
}

bool StatusManager::process(const Pending& work) {
  if (!writeStatus(work.pod)) return false;
  return !work.remove || deletePod(work.pod);
}

bool StatusManager::writeStatus(const corev1::Pod& pod) {
  const std::string want = comparableStatus(pod.status);
  {
    std::lock_guard lock(mutex_);
    const auto last = written_.find(pod.metadata.uid);
    if (last != written_.end() && last->second == want) return true;
  }
  for (int attempt = 0; attempt < 5; ++attempt) {
    corev1::Pod current;
    try {
      current = client_.get<corev1::Pod>(pod.metadata.namespace_, pod.metadata.name);
    } catch (const client::ApiError& e) {
      if (e.isNotFound()) return true;  // gone: nothing to report
      throw;
    }
    if (current.metadata.uid != pod.metadata.uid) return true;  // a new pod of the same name
    current.status = merged(pod.status, current.status);
    try {
      client_.updateStatus(current, {.fieldManager = "kubelet"});
    } catch (const client::ApiError& e) {
      if (e.isConflict()) continue;  // changed meanwhile: read it again
      if (e.isNotFound()) return true;
      throw;
    }
    std::lock_guard lock(mutex_);
    written_[pod.metadata.uid] = want;
    ++writes_;
    return true;
  }
  return false;
}

bool StatusManager::gone(const corev1::Pod& pod) {
  try {
    return client_.get<corev1::Pod>(pod.metadata.namespace_, pod.metadata.name).metadata.uid !=
           pod.metadata.uid;
  } catch (const client::ApiError& e) {
    if (e.isNotFound()) return true;
    throw;
  }
}

bool StatusManager::deletePod(const corev1::Pod& pod) {
  api::meta::v1::DeleteOptions options;
  options.gracePeriodSeconds = 0;
  options.preconditions.emplace();
  options.preconditions->uid = pod.metadata.uid;
  try {
    client_.remove<corev1::Pod>(pod.metadata.namespace_, pod.metadata.name, options);
    spdlog::info("pod {}: deleted from the API server", who(pod));
  } catch (const client::ApiError& e) {
    // Gone already, or a new pod of that name (the uid precondition failed): nothing to do.
    // A pod that is gone is no longer bound to this node, so the node authorizer answers 403
    // rather than 404: look before retrying.
    if (!e.isNotFound() && !e.isConflict() && !gone(pod)) throw;
  }
  std::lock_guard lock(mutex_);
  deleted_.insert(pod.metadata.uid);
  written_.erase(pod.metadata.uid);
  return true;
}

}  // namespace kite::kubelet
