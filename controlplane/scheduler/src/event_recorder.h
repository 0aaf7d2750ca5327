#pragma once
// core/v1 Events about pods (Scheduled, FailedScheduling), written by a few background
// threads so the scheduling cycle never waits on them. As upstream's broadcaster, events are
// dropped (with a log line) when too many are waiting.

#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "kite/api/core/v1/types.h"
#include "kite/client/client.h"

namespace kite::controlplane::scheduler {

class EventRecorder {
 public:
  EventRecorder(client::Client& client, std::string component, int workers = 2);
  ~EventRecorder();
  EventRecorder(const EventRecorder&) = delete;
  EventRecorder& operator=(const EventRecorder&) = delete;

  // type Normal or Warning. related: a second pod the event is about (the preemptor of a
  // Preempted victim), with the action taken (upstream's events.k8s.io Eventf).
  void record(const api::core::v1::Pod& pod, std::string type, std::string reason,
              std::string message, std::string action = {},
              const api::core::v1::Pod* related = nullptr);
  void stop();

 private:
  void run();

  client::Client& client_;
  std::string component_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<api::core::v1::Event> pending_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace kite::controlplane::scheduler
