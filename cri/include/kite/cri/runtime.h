#pragma once
// The container runtime seen by the kubelet: the CRI RuntimeService.
// Implementations: GrpcRuntime (a real containerd or CRI-O over its socket) and
// the in-memory fake under tests/fakes. Every method throws cri::Error.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "kite/cri/api.h"
#include "kite/cri/error.h"

namespace kite::cri {

struct ExecResult {
  std::string stdoutData;
  std::string stderrData;
  int32_t exitCode = 0;
};

// A server stream of container lifecycle events. next() blocks until an event
// arrives and returns nullopt when the stream ended (cancel() or runtime gone).
class EventStream {
 public:
  virtual ~EventStream() = default;
  virtual std::optional<v1::ContainerEventResponse> next() = 0;
  virtual void cancel() = 0;
};

class Runtime {
 public:
  virtual ~Runtime() = default;

  virtual v1::VersionResponse version() = 0;
  virtual v1::StatusResponse status(bool verbose = false) = 0;

  // Pod sandboxes. runPodSandbox returns the sandbox id.
  virtual std::string runPodSandbox(const v1::PodSandboxConfig& config,
                                    const std::string& runtimeHandler = "") = 0;
  virtual void stopPodSandbox(const std::string& podSandboxId) = 0;
  virtual void removePodSandbox(const std::string& podSandboxId) = 0;
  virtual v1::PodSandboxStatusResponse podSandboxStatus(const std::string& podSandboxId,
                                                        bool verbose = false) = 0;
  virtual std::vector<v1::PodSandbox> listPodSandbox(const v1::PodSandboxFilter& filter = {}) = 0;

  // Containers. createContainer returns the container id.
  virtual std::string createContainer(const std::string& podSandboxId,
                                      const v1::ContainerConfig& config,
                                      const v1::PodSandboxConfig& sandboxConfig) = 0;
  virtual void startContainer(const std::string& containerId) = 0;
  virtual void stopContainer(const std::string& containerId, int64_t timeoutSeconds) = 0;
  virtual void removeContainer(const std::string& containerId) = 0;
  virtual std::vector<v1::Container> listContainers(const v1::ContainerFilter& filter = {}) = 0;
  virtual v1::ContainerStatusResponse containerStatus(const std::string& containerId,
                                                      bool verbose = false) = 0;
  virtual void updateContainerResources(const std::string& containerId,
                                        const v1::LinuxContainerResources& linux) = 0;
  virtual void reopenContainerLog(const std::string& containerId) = 0;

  // Runs a command to completion inside a container. `timeout` bounds the
  // command itself; zero means no limit on the command.
  virtual ExecResult execSync(const std::string& containerId, const std::vector<std::string>& cmd,
                              std::chrono::seconds timeout) = 0;

  // Streaming calls return the URL of the runtime's streaming server, which
  // the kubelet server bridges to clients.
  virtual std::string exec(const v1::ExecRequest& request) = 0;
  virtual std::string attach(const v1::AttachRequest& request) = 0;
  virtual std::string portForward(const std::string& podSandboxId,
                                  const std::vector<int32_t>& ports) = 0;

  virtual v1::ContainerStats containerStats(const std::string& containerId) = 0;
  virtual std::vector<v1::ContainerStats> listContainerStats(
      const v1::ContainerStatsFilter& filter = {}) = 0;

  // Throws an Error with code kUnimplemented (at the first next()) where the
  // runtime has no event stream; the kubelet then relists instead.
  virtual std::unique_ptr<EventStream> containerEvents() = 0;

  // UpdateRuntimeConfig: the node's pod CIDR(s), comma-separated, for the runtime's network
  // config (containerd renders its CNI conf_template from it).
  virtual void updateRuntimeConfig(const std::string& podCidr) = 0;
};

}  // namespace kite::cri
