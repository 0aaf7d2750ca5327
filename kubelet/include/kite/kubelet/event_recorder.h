#pragma once
// The kubelet's Events (core/v1) about its pods, as upstream's event recorder
// writes them: source.component "kubelet", source.host the node, the pod as
// involvedObject (with the container's fieldPath). Written on a thread of its
// own so syncs never wait for the API server; the same event again (type,
// reason, message, object) raises the first one's count and lastTimestamp with
// a PATCH instead of a new object; each object gets a burst of 25 events, then
// one every 5 minutes (upstream's spam filter).

#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "kite/api/core/v1/types.h"
#include "kite/base/clock.h"
#include "kite/client/client.h"
#include "kite/kubelet/pod_syncer.h"

namespace kite::kubelet {

struct EventRecorderOptions {
  int burst = 25;
  std::chrono::milliseconds refill{std::chrono::minutes(5)};  // one more token each this often
  std::size_t maxQueued = 1000;                               // older events are dropped beyond
};

class EventRecorder {
 public:
  EventRecorder(client::Client& client, std::string nodeName, const base::Clock& clock,
                EventRecorderOptions options = {});
  ~EventRecorder();
  EventRecorder(const EventRecorder&) = delete;
  EventRecorder& operator=(const EventRecorder&) = delete;

  void start();
  void stop();
  void record(const api::core::v1::Pod& pod, const PodEvent& event);
  // Drops what is kept about a pod that is gone.
  void forgetPod(const std::string& podUid);
  // Blocks until every recorded event was written (tests).
  void waitIdle();

 private:
  struct Pending {
    api::core::v1::ObjectReference object;
    PodEvent event;
    api::Time when;
  };
  struct Written {
    std::string name;  // of the Event object
    int32_t count = 0;
  };
  struct Bucket {
    double tokens = 0;
    base::Clock::Monotonic last;
  };
  void run(const std::stop_token& stop);
  void write(const Pending& pending);
  bool allow(const std::string& objectKey);

  client::Client& client_;
  std::string nodeName_;
  const base::Clock& clock_;
  EventRecorderOptions options_;
  std::mutex mutex_;
  std::condition_variable_any wake_;
  std::condition_variable_any idle_;
  std::deque<Pending> queue_;
  bool busy_ = false;
  std::map<std::string, Written> written_;  // by type/reason/message/object
  std::map<std::string, Bucket> buckets_;   // by object
  std::jthread thread_;
};

}  // namespace kite::kubelet
