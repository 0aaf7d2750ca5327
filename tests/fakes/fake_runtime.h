#pragma once
// In-memory CRI runtime for unit tests: implements cri::Runtime and cri::Images
// with the same state machine as a real runtime (sandbox READY/NOTREADY,
// container CREATED/RUNNING/EXITED), the same NotFound errors, and hooks to
// inject failures and to make containers exit. Thread-safe.

#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>

#include "kite/cri/error.h"
#include "kite/cri/images.h"
#include "kite/cri/runtime.h"

namespace kite::testing {

namespace v1 = cri::v1;

class FakeRuntime final : public cri::Runtime, public cri::Images {
 public:
  FakeRuntime();

  // --- test controls -------------------------------------------------------
  // Images a "registry" can deliver; pulls of anything else fail with NotFound.
  void addRegistryImage(const std::string& reference, uint64_t size = 1024);
  // Puts an image straight into the local store (as if pulled earlier).
  void addLocalImage(const std::string& reference);
  // The next call of `method` (e.g. "RunPodSandbox") throws this error once.
  void failNext(const std::string& method, cri::ErrorCode code, const std::string& message);
  // The next RunPodSandbox fails half-way, as containerd's does when setting up the
  // network fails and tearing it down fails too: the sandbox stays behind NOTREADY with
  // no creation time (0), its name reserved until it is removed.
  void failNextSandboxKeepingName(const std::string& message);
  // The sandbox's pause process died (kill -9): NOTREADY, its containers untouched.
  void killSandbox(const std::string& podSandboxId);
  // Makes a running container exit with this code, as its process would.
  void exitContainer(const std::string& containerId, int32_t exitCode,
                     const std::string& reason = "");
  // Output ExecSync returns for a command, keyed by the joined command line.
  void setExecResult(const std::string& commandLine, cri::ExecResult result);
  // Called at the start of every RunPodSandbox with the pod's name, outside the fake's lock:
  // a test can hold one pod's sync there while other calls go on.
  void onRunPodSandbox(std::function<void(const std::string& podName)> hook);
  // Every method called, in order (for asserting what the caller did).
  std::vector<std::string> calls() const;
  void advanceClock(std::chrono::nanoseconds by);

  // --- cri::Runtime --------------------------------------------------------
  v1::VersionResponse version() override;
  v1::StatusResponse status(bool verbose) override;
  std::string runPodSandbox(const v1::PodSandboxConfig& config,
                            const std::string& runtimeHandler) override;
  void stopPodSandbox(const std::string& podSandboxId) override;
  void removePodSandbox(const std::string& podSandboxId) override;
  v1::PodSandboxStatusResponse podSandboxStatus(const std::string& podSandboxId,
                                                bool verbose) override;
  std::vector<v1::PodSandbox> listPodSandbox(const v1::PodSandboxFilter& filter) override;
  std::string createContainer(const std::string& podSandboxId, const v1::ContainerConfig& config,
                              const v1::PodSandboxConfig& sandboxConfig) override;
  void startContainer(const std::string& containerId) override;
  void stopContainer(const std::string& containerId, int64_t timeoutSeconds) override;
  void removeContainer(const std::string& containerId) override;
  std::vector<v1::Container> listContainers(const v1::ContainerFilter& filter) override;
  v1::ContainerStatusResponse containerStatus(const std::string& containerId,
                                              bool verbose) override;
  void updateContainerResources(const std::string& containerId,
                                const v1::LinuxContainerResources& linux) override;
  void reopenContainerLog(const std::string& containerId) override;
  void updateRuntimeConfig(const std::string& podCidr) override;
  // The pod CIDR last given to updateRuntimeConfig.
  std::string podCidr() const;
  cri::ExecResult execSync(const std::string& containerId, const std::vector<std::string>& cmd,
                           std::chrono::seconds timeout) override;
  std::string exec(const v1::ExecRequest& request) override;
  std::string attach(const v1::AttachRequest& request) override;
  std::string portForward(const std::string& podSandboxId,
                          const std::vector<int32_t>& ports) override;
  v1::ContainerStats containerStats(const std::string& containerId) override;
  std::vector<v1::ContainerStats> listContainerStats(
      const v1::ContainerStatsFilter& filter) override;
  std::unique_ptr<cri::EventStream> containerEvents() override;

  // --- cri::Images ---------------------------------------------------------
  std::vector<v1::Image> listImages(const v1::ImageFilter& filter) override;
  std::optional<v1::Image> imageStatus(const v1::ImageSpec& image) override;
  std::string pullImage(const v1::ImageSpec& image, const v1::AuthConfig& auth,
                        const v1::PodSandboxConfig* sandboxConfig) override;
  void removeImage(const v1::ImageSpec& image) override;
  v1::ImageFsInfoResponse imageFsInfo() override;

 private:
  struct Sandbox {
    v1::PodSandbox info;
    v1::PodSandboxConfig config;
    std::string ip;
  };
  struct Container {
    v1::ContainerStatus status;
    std::string podSandboxId;
    v1::ContainerConfig config;
  };

  void record(const std::string& method);  // also fires injected failures
  [[noreturn]] void notFound(const std::string& method, const std::string& what) const;
  Sandbox& sandbox(const std::string& method, const std::string& id);
  Container& container(const std::string& method, const std::string& id);
  const v1::Image* findImage(const std::string& reference) const;
  std::string nextId();
  int64_t now() const { return clock_.count(); }

  mutable std::mutex mutex_;
  std::string podCidr_;
  std::map<std::string, Sandbox> sandboxes_;
  std::map<std::string, Container> containers_;
  std::map<std::string, v1::Image> images_;   // by image id
  std::map<std::string, uint64_t> registry_;  // reference -> size
  std::map<std::string, std::pair<cri::ErrorCode, std::string>> failures_;
  std::map<std::string, cri::ExecResult> execResults_;
  std::optional<std::string> sandboxLeftBehind_;  // failNextSandboxKeepingName's message
  std::function<void(const std::string&)> runPodSandboxHook_;
  std::vector<std::string> calls_;
  std::chrono::nanoseconds clock_{1'700'000'000'000'000'000};
  uint64_t counter_ = 0;
};

}  // namespace kite::testing
