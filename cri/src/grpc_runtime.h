#pragma once
// cri::Runtime over gRPC: the RuntimeService of a real containerd or CRI-O.

#include <grpcpp/grpcpp.h>

#include <memory>

#include "grpc_caller.h"
#include "kite/cri/detail/grpc_services.h"
#include "kite/cri/grpc_client.h"
#include "kite/cri/runtime.h"

namespace kite::cri::detail {

class GrpcRuntime final : public Runtime {
 public:
  GrpcRuntime(std::shared_ptr<grpc::Channel> channel, std::string endpoint,
              const ClientOptions& options);

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

  ExecResult execSync(const std::string& containerId, const std::vector<std::string>& cmd,
                      std::chrono::seconds timeout) override;
  std::string exec(const v1::ExecRequest& request) override;
  std::string attach(const v1::AttachRequest& request) override;
  std::string portForward(const std::string& podSandboxId,
                          const std::vector<int32_t>& ports) override;

  v1::ContainerStats containerStats(const std::string& containerId) override;
  std::vector<v1::ContainerStats> listContainerStats(
      const v1::ContainerStatsFilter& filter) override;

  std::unique_ptr<EventStream> containerEvents() override;

  void updateRuntimeConfig(const std::string& podCidr) override;

 private:
  template <class Request, class Response>
  Response call(const char* method,
                grpc::Status (v1::RuntimeService::Stub::*rpc)(grpc::ClientContext*, const Request&,
                                                              Response*),
                const Request& request) {
    return caller_.unary(method, *stub_, rpc, request, timeout_);
  }

  std::unique_ptr<v1::RuntimeService::Stub> stub_;
  Caller caller_;
  std::chrono::milliseconds timeout_;
};

}  // namespace kite::cri::detail
