#pragma once
// Pod lifecycle event generator. containerd 1.6 has no CRI event stream, so the
// PLEG relists: every period it lists kite's sandboxes and containers, compares
// their states with the previous list, and reports each change as an event for
// the pod it belongs to. The kubelet answers an event with a sync of that pod.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "kite/base/clock.h"
#include "kite/cri/runtime.h"
#include "kite/kubelet/runtime_pod.h"

namespace kite::kubelet {

enum class PodEventType {
  kContainerStarted,
  kContainerDied,
  kContainerRemoved,
  kSandboxChanged,
};

struct PodLifecycleEvent {
  std::string podUid;
  PodEventType type;
  std::string id;  // container or sandbox id
};

class Pleg {
 public:
  using Sink = std::function<void(const PodLifecycleEvent&)>;

  Pleg(cri::Runtime& runtime, const base::Clock& clock, Sink sink);
  ~Pleg();
  Pleg(const Pleg&) = delete;
  Pleg& operator=(const Pleg&) = delete;

  // One relist round; returns false if the runtime could not be listed.
  bool relist();
  // A sync of the pod saw these ready sandboxes and running containers at its end, and its
  // status says so: a relist that finds them in that state reports no event for them (the
  // sync it would cause has nothing to do), whichever of the two read the runtime first.
  // Exited containers are not taken: one that died during a sync may still need a restart.
  void seen(const RuntimePod& pod);
  void start(std::chrono::milliseconds period);
  void stop();
  // Unhealthy when no relist succeeded for `threshold` (upstream: 3 minutes).
  bool healthy(std::chrono::seconds threshold = std::chrono::minutes(3)) const;

 private:
  enum class State { kRunning, kExited, kCreated, kUnknown };
  struct Record {
    std::string podUid;
    State state;
    bool sandbox;
  };

  cri::Runtime& runtime_;
  const base::Clock& clock_;
  Sink sink_;
  std::map<std::string, Record> previous_;
  struct Seen {
    State state;
    uint64_t relist;  // relists_ when a sync saw it
  };
  std::mutex seenMutex_;  // seenBySync_ and relists_: relist() and seen() run on two threads
  std::map<std::string, Seen> seenBySync_;  // by sandbox or container id
  uint64_t relists_ = 0;
  mutable std::mutex mutex_;
  base::Clock::Monotonic lastRelist_{};
  bool everRelisted_ = false;
  std::jthread thread_;
};

}  // namespace kite::kubelet
