#pragma once
// The kubelet's Node: registration (create, or adopt an existing Node of the same name) and
// status reports through nodes/NAME/status, written when the status changed and at least every
// reportFrequency. The machine is read through a MachineReader so the logic is testable; the
// pure functions below build the Node and its conditions from one MachineSnapshot.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "kite/api/core/v1/types.h"
#include "kite/base/clock.h"
#include "kite/kubelet/eviction.h"

namespace kite::client {
class Client;
}

namespace kite::kubelet {

inline constexpr std::string_view kKubeletVersion = "v1.32.0-kite";
inline constexpr int32_t kKubeletPort = 10250;

struct NodeStatusOptions {
  std::string nodeName;
  std::string hostname;  // the Hostname address and kubernetes.io/hostname label
  std::string nodeIP;    // "" : the first non-loopback IPv4 address
  std::string rootDir = "/var/lib/kubelet";
  int64_t maxPods = 110;
  // The kubelet's HTTPS port (--port), published in status.daemonEndpoints so the API server
  // knows where to proxy logs, exec and port-forward.
  int32_t kubeletPort = kKubeletPort;
  // --eviction-hard: the same thresholds decide MemoryPressure and DiskPressure.
  EvictionThresholds eviction;
  std::chrono::seconds reportFrequency{300};
  // How often the status is recomputed to notice a change (upstream's update frequency).
  std::chrono::seconds checkFrequency{10};
};

// What the kubelet knows about its machine at one moment.
struct MachineSnapshot {
  int64_t milliCpu = 0;
  int64_t memoryCapacityBytes = 0;
  int64_t memoryAvailableBytes = 0;
  int64_t nodefsCapacityBytes = 0;
  int64_t nodefsAvailableBytes = 0;
  int64_t pidMax = 0;
  int64_t pidsInUse = 0;
  std::string internalIP;
  std::string kernelVersion;
  std::string osImage;
  std::string architecture;  // GOARCH spelling: amd64, arm64...
  std::string machineID;
  std::string bootID;
  std::string containerRuntimeVersion;  // "containerd://1.7.0", "" when unknown
  // Why the node is not Ready ("container runtime is down", "PLEG is not healthy: ..."), as
  // upstream words it; empty when it is.
  std::string notReadyMessage;
};

// Reads /proc, statvfs of the root dir, uname, /etc/os-release and the machine ids. The runtime
// version is left empty (the caller fills it from CRI when the runtime answers).
MachineSnapshot readMachine(const NodeStatusOptions& options);

// uname's machine in GOARCH spelling (x86_64 → amd64, aarch64 → arm64).
std::string goArch(std::string_view unameMachine);
// PRETTY_NAME from os-release text ("" when absent); quotes removed.
std::string prettyName(std::string_view osRelease);
// Bytes of MemAvailable (or MemFree when absent) from /proc/meminfo text; 0 when missing.
int64_t memAvailableFromMeminfo(std::string_view meminfo);

// PIDPressure: fewer than this share of pid_max left (memory and disk pressure follow the
// eviction thresholds, NodeStatusOptions::eviction).
inline constexpr double kPidAvailableFraction = 0.05;

// The Node to create: labels, and the status of the snapshot at `now`.
api::core::v1::Node newNode(const NodeStatusOptions& options, const MachineSnapshot& machine,
                            api::Time now);
// Sets labels the kubelet owns on an adopted Node; true when one changed.
bool reconcileLabels(api::core::v1::Node& node, const NodeStatusOptions& options,
                     const MachineSnapshot& machine);
// The status for the snapshot: capacity, allocatable, addresses, nodeInfo, daemon endpoints and
// the four conditions. A condition keeps its lastTransitionTime from `previous` unless its
// status changed; every heartbeat is `now`.
api::core::v1::NodeStatus computeStatus(const NodeStatusOptions& options,
                                        const MachineSnapshot& machine,
                                        const api::core::v1::NodeStatus& previous, api::Time now);
// Equal apart from the conditions' heartbeat times: nothing worth writing.
bool sameStatusIgnoringHeartbeat(const api::core::v1::NodeStatus& a,
                                 const api::core::v1::NodeStatus& b);

// Registers the Node, then reports its status from a thread.
class NodeStatusManager {
 public:
  using MachineReader = std::function<MachineSnapshot()>;

  NodeStatusManager(client::Client& client, const base::Clock& clock, NodeStatusOptions options,
                    MachineReader reader);
  ~NodeStatusManager();
  NodeStatusManager(const NodeStatusManager&) = delete;
  NodeStatusManager& operator=(const NodeStatusManager&) = delete;

  // Creates the Node or adopts the existing one; returns it (its uid owns the Lease). Throws
  // client::ApiError / TransportError.
  api::core::v1::Node registerNode();
  // One report: recompute, write when changed or when reportFrequency passed since the last
  // write. Returns true when it wrote. Throws on API failures.
  bool syncOnce();

  // Registers (retrying every checkFrequency until it works) and reports until stop().
  void start();
  void stop();

  // The Node as last written (empty name before registration).
  api::core::v1::Node node() const;

 private:
  void run();
  void notifyPodCidrs();

  client::Client& client_;
  const base::Clock& clock_;
  NodeStatusOptions options_;
  MachineReader reader_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  bool registered_ = false;
  api::core::v1::Node node_;
  std::optional<base::Clock::Monotonic> lastWrite_;
  std::function<void(const api::core::v1::Node&)> onRegistered_;
  std::function<void(const std::vector<std::string>&)> onPodCidrs_;
  std::vector<std::string> sentPodCidrs_;  // what onPodCidrs_ last took without throwing
  std::thread thread_;

 public:
  // Called on the manager's thread once the Node exists (e.g. to start the lease).
  void onRegistered(std::function<void(const api::core::v1::Node&)> callback) {
    onRegistered_ = std::move(callback);
  }
  // Called on the manager's thread when the Node's spec.podCIDRs is first set (by the node-ipam
  // controller, after registration) or changes, as upstream's kubelet hands it to the runtime.
  // A callback that throws is called again at the next check.
  void onPodCidrs(std::function<void(const std::vector<std::string>&)> callback) {
    onPodCidrs_ = std::move(callback);
  }
};

}  // namespace kite::kubelet
