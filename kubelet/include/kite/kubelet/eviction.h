#pragma once
// Node-pressure eviction, as upstream's eviction manager does it with hard thresholds: every
// monitoring period the node's signals (memory.available, nodefs.available) are compared with
// --eviction-hard; while one is crossed, one pod at a time is evicted — killed at once (hard
// thresholds have no grace period), its phase Failed with reason Evicted — ranked as upstream
// ranks them: pods using more than they requested first (BestEffort pods request nothing),
// then lower priority, then larger usage.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "kite/api/core/v1/types.h"

namespace kite::kubelet {

class Kubelet;

// --eviction-hard, e.g. "memory.available<100Mi,nodefs.available<10%". Unset signals keep
// upstream's defaults (memory.available<100Mi, nodefs.available<10%).
struct EvictionThresholds {
  int64_t memoryAvailableBytes = 100LL * 1024 * 1024;
  std::optional<int64_t> nodefsAvailableBytes;
  double nodefsAvailableFraction = 0.10;
  // Throws std::invalid_argument naming the bad entry.
  static EvictionThresholds parse(const std::string& text);
};

struct EvictionSignals {
  int64_t memoryAvailableBytes = 0;
  int64_t nodefsAvailableBytes = 0;
  int64_t nodefsCapacityBytes = 0;
};

// The resource under pressure ("memory", "ephemeral-storage") and upstream's message for it,
// or nullopt when no threshold is crossed.
struct Pressure {
  std::string resource;
  std::string message;  // "The node was low on resource: memory. Threshold quantity: ..."
};
std::optional<Pressure> pressureOf(const EvictionSignals& signals,
                                   const EvictionThresholds& thresholds);

// Pods in the order they are evicted under pressure on resource ("memory" or
// "ephemeral-storage"); usage is the pods' current use of it in bytes, by uid.
std::vector<api::core::v1::Pod> rankForEviction(std::vector<api::core::v1::Pod> pods,
                                                const std::string& resource,
                                                const std::map<std::string, int64_t>& usage);

class EvictionManager {
 public:
  using SignalReader = std::function<EvictionSignals()>;
  // Bytes of memory (working set) and of writable layer + logs in use per pod uid.
  using UsageReader = std::function<std::map<std::string, int64_t>(const std::string& resource)>;

  EvictionManager(Kubelet& kubelet, EvictionThresholds thresholds, SignalReader signals,
                  UsageReader usage);
  ~EvictionManager();
  EvictionManager(const EvictionManager&) = delete;
  EvictionManager& operator=(const EvictionManager&) = delete;

  void start(std::chrono::milliseconds period = std::chrono::seconds(10));
  void stop();
  // One round: evicts at most one pod; returns its uid, or "" (tests call it directly).
  std::string check();

 private:
  Kubelet& kubelet_;
  EvictionThresholds thresholds_;
  SignalReader signals_;
  UsageReader usage_;
  std::jthread thread_;
};

}  // namespace kite::kubelet
