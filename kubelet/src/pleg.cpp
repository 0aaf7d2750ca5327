#include "kite/kubelet/pleg.h"

#include <spdlog/spdlog.h>

#include <condition_variable>

#include "kite/kubelet/labels.h"

namespace kite::kubelet {

Pleg::Pleg(cri::Runtime& runtime, const base::Clock& clock, Sink sink)
    : runtime_(runtime), clock_(clock), sink_(std::move(sink)) {}

Pleg::~Pleg() { stop(); }

bool Pleg::relist() {
  std::map<std::string, Record> current;
  try {
    cri::v1::PodSandboxFilter sandboxFilter;
    (*sandboxFilter.mutable_label_selector())[labels::kManagedBy] = labels::kManagedByValue;
    for (const auto& sandbox : runtime_.listPodSandbox(sandboxFilter)) {
      auto uid = sandbox.labels().find(labels::kPodUid);
      if (uid == sandbox.labels().end()) continue;
      const State state =
          sandbox.state() == cri::v1::SANDBOX_READY ? State::kRunning : State::kExited;
      current[sandbox.id()] = Record{uid->second, state, true};
    }
    cri::v1::ContainerFilter containerFilter;
    (*containerFilter.mutable_label_selector())[labels::kManagedBy] = labels::kManagedByValue;
    for (const auto& container : runtime_.listContainers(containerFilter)) {
      auto uid = container.labels().find(labels::kPodUid);
      if (uid == container.labels().end()) continue;
      State state = State::kUnknown;
      switch (container.state()) {
        case cri::v1::CONTAINER_RUNNING:
          state = State::kRunning;
          break;
        case cri::v1::CONTAINER_EXITED:
          state = State::kExited;
          break;
        case cri::v1::CONTAINER_CREATED:
          state = State::kCreated;
          break;
        default:
          break;
      }
      current[container.id()] = Record{uid->second, state, false};
    }
  } catch (const cri::Error& e) {
    spdlog::warn("pleg: relist failed: {}", e.what());
    return false;
  }

  std::vector<PodLifecycleEvent> events;
  std::unique_lock seenLock(seenMutex_);
  ++relists_;
  // Gone from the runtime; kept a while when this list may have been read before it existed.
  std::erase_if(seenBySync_, [&](const auto& entry) {
    return !current.contains(entry.first) && relists_ - entry.second.relist > 1;
  });
  for (const auto& [id, now] : current) {
    auto before = previous_.find(id);
    if (before != previous_.end() && before->second.state == now.state) continue;
    // A sandbox or container only moves forward (ready → not ready, created → running →
    // exited): a sync that saw it in this state already did what the event would ask for.
    auto seen = seenBySync_.find(id);
    if (seen != seenBySync_.end() && seen->second.state == now.state) continue;
    if (now.sandbox) {
      events.push_back({now.podUid, PodEventType::kSandboxChanged, id});
    } else if (now.state == State::kRunning) {
      events.push_back({now.podUid, PodEventType::kContainerStarted, id});
    } else if (now.state == State::kExited) {
      events.push_back({now.podUid, PodEventType::kContainerDied, id});
    }
  }
  for (const auto& [id, before] : previous_) {
    if (current.contains(id)) continue;
    events.push_back(
        {before.podUid,
         before.sandbox ? PodEventType::kSandboxChanged : PodEventType::kContainerRemoved, id});
  }
  seenLock.unlock();
  previous_ = std::move(current);
  {
    std::lock_guard lock(mutex_);
    lastRelist_ = clock_.now();
    everRelisted_ = true;
  }
  for (const auto& event : events) sink_(event);
  return true;
}

void Pleg::seen(const RuntimePod& pod) {
  std::lock_guard lock(seenMutex_);
  for (const auto& sandbox : pod.sandboxes) {
    if (sandbox.state() == cri::v1::SANDBOX_READY) {
      seenBySync_[sandbox.id()] = {State::kRunning, relists_};
    }
  }
  for (const auto& container : pod.containers) {
    if (container.running()) seenBySync_[container.id()] = {State::kRunning, relists_};
  }
}

void Pleg::start(std::chrono::milliseconds period) {
  thread_ = std::jthread([this, period](const std::stop_token& stop) {
    std::mutex waitMutex;
    std::condition_variable_any wake;
    while (!stop.stop_requested()) {
      relist();
      std::unique_lock lock(waitMutex);
      wake.wait_for(lock, stop, period, [] { return false; });
    }
  });
}

void Pleg::stop() {
  if (thread_.joinable()) {
    thread_.request_stop();
    thread_.join();
  }
}

bool Pleg::healthy(std::chrono::seconds threshold) const {
  std::lock_guard lock(mutex_);
  return everRelisted_ && clock_.now() - lastRelist_ < threshold;
}

}  // namespace kite::kubelet
