#include "grpc_runtime.h"

#include "grpc_event_stream.h"

namespace kite::cri::detail {

GrpcRuntime::GrpcRuntime(std::shared_ptr<grpc::Channel> channel, std::string endpoint,
                         const ClientOptions& options)
    : stub_(v1::RuntimeService::NewStub(std::move(channel))),
      caller_(std::move(endpoint)),
      timeout_(options.requestTimeout) {}

using Stub = v1::RuntimeService::Stub;

v1::VersionResponse GrpcRuntime::version() {
  v1::VersionRequest request;
  request.set_version("v1");
  return call("RuntimeService/Version", &Stub::Version, request);
}

void GrpcRuntime::updateRuntimeConfig(const std::string& podCidr) {
  v1::UpdateRuntimeConfigRequest request;
  request.mutable_runtime_config()->mutable_network_config()->set_pod_cidr(podCidr);
  call("RuntimeService/UpdateRuntimeConfig", &Stub::UpdateRuntimeConfig, request);
}

v1::StatusResponse GrpcRuntime::status(bool verbose) {
  v1::StatusRequest request;
  request.set_verbose(verbose);
  return call("RuntimeService/Status", &Stub::Status, request);
}

std::string GrpcRuntime::runPodSandbox(const v1::PodSandboxConfig& config,
                                       const std::string& runtimeHandler) {
  v1::RunPodSandboxRequest request;
  *request.mutable_config() = config;
  request.set_runtime_handler(runtimeHandler);
  return call("RuntimeService/RunPodSandbox", &Stub::RunPodSandbox, request).pod_sandbox_id();
}

void GrpcRuntime::stopPodSandbox(const std::string& podSandboxId) {
  v1::StopPodSandboxRequest request;
  request.set_pod_sandbox_id(podSandboxId);
  call("RuntimeService/StopPodSandbox", &Stub::StopPodSandbox, request);
}

void GrpcRuntime::removePodSandbox(const std::string& podSandboxId) {
  v1::RemovePodSandboxRequest request;
  request.set_pod_sandbox_id(podSandboxId);
  call("RuntimeService/RemovePodSandbox", &Stub::RemovePodSandbox, request);
}

v1::PodSandboxStatusResponse GrpcRuntime::podSandboxStatus(const std::string& podSandboxId,
                                                           bool verbose) {
  v1::PodSandboxStatusRequest request;
  request.set_pod_sandbox_id(podSandboxId);
  request.set_verbose(verbose);
  return call("RuntimeService/PodSandboxStatus", &Stub::PodSandboxStatus, request);
}

std::vector<v1::PodSandbox> GrpcRuntime::listPodSandbox(const v1::PodSandboxFilter& filter) {
  v1::ListPodSandboxRequest request;
  *request.mutable_filter() = filter;
  auto response = call("RuntimeService/ListPodSandbox", &Stub::ListPodSandbox, request);
  return {response.items().begin(), response.items().end()};
}

std::string GrpcRuntime::createContainer(const std::string& podSandboxId,
                                         const v1::ContainerConfig& config,
                                         const v1::PodSandboxConfig& sandboxConfig) {
  v1::CreateContainerRequest request;
  request.set_pod_sandbox_id(podSandboxId);
  *request.mutable_config() = config;
  *request.mutable_sandbox_config() = sandboxConfig;
  return call("RuntimeService/CreateContainer", &Stub::CreateContainer, request).container_id();
}

void GrpcRuntime::startContainer(const std::string& containerId) {
  v1::StartContainerRequest request;
  request.set_container_id(containerId);
  call("RuntimeService/StartContainer", &Stub::StartContainer, request);
}

void GrpcRuntime::stopContainer(const std::string& containerId, int64_t timeoutSeconds) {
  v1::StopContainerRequest request;
  request.set_container_id(containerId);
  request.set_timeout(timeoutSeconds);
  // The runtime waits up to the grace period before SIGKILL, so the call's own
  // deadline must cover that wait on top of the ordinary request timeout.
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + timeout_ +
                       std::chrono::seconds(timeoutSeconds));
  v1::StopContainerResponse response;
  const auto status = stub_->StopContainer(&context, request, &response);
  if (!status.ok()) {
    throw toError("RuntimeService/StopContainer", caller_.endpoint(), status,
                  timeout_ + std::chrono::seconds(timeoutSeconds));
  }
}

void GrpcRuntime::removeContainer(const std::string& containerId) {
  v1::RemoveContainerRequest request;
  request.set_container_id(containerId);
  call("RuntimeService/RemoveContainer", &Stub::RemoveContainer, request);
}

std::vector<v1::Container> GrpcRuntime::listContainers(const v1::ContainerFilter& filter) {
  v1::ListContainersRequest request;
  *request.mutable_filter() = filter;
  auto response = call("RuntimeService/ListContainers", &Stub::ListContainers, request);
  return {response.containers().begin(), response.containers().end()};
}

v1::ContainerStatusResponse GrpcRuntime::containerStatus(const std::string& containerId,
                                                         bool verbose) {
  v1::ContainerStatusRequest request;
  request.set_container_id(containerId);
  request.set_verbose(verbose);
  return call("RuntimeService/ContainerStatus", &Stub::ContainerStatus, request);
}

void GrpcRuntime::updateContainerResources(const std::string& containerId,
                                           const v1::LinuxContainerResources& linux) {
  v1::UpdateContainerResourcesRequest request;
  request.set_container_id(containerId);
  *request.mutable_linux() = linux;
  call("RuntimeService/UpdateContainerResources", &Stub::UpdateContainerResources, request);
}

void GrpcRuntime::reopenContainerLog(const std::string& containerId) {
  v1::ReopenContainerLogRequest request;
  request.set_container_id(containerId);
  call("RuntimeService/ReopenContainerLog", &Stub::ReopenContainerLog, request);
}

ExecResult GrpcRuntime::execSync(const std::string& containerId,
                                 const std::vector<std::string>& cmd,
                                 std::chrono::seconds timeout) {
  v1::ExecSyncRequest request;
  request.set_container_id(containerId);
  for (const auto& arg : cmd) {
    request.add_cmd(arg);
  }
  request.set_timeout(timeout.count());
  // Like StopContainer: the command's own time limit comes on top of the call's.
  const auto deadline = timeout_ + timeout;
  auto response = caller_.unary("RuntimeService/ExecSync", *stub_, &Stub::ExecSync, request,
                                std::chrono::duration_cast<std::chrono::milliseconds>(deadline));
  return ExecResult{response.stdout(), response.stderr(), response.exit_code()};
}

std::string GrpcRuntime::exec(const v1::ExecRequest& request) {
  return call("RuntimeService/Exec", &Stub::Exec, request).url();
}

std::string GrpcRuntime::attach(const v1::AttachRequest& request) {
  return call("RuntimeService/Attach", &Stub::Attach, request).url();
}

std::string GrpcRuntime::portForward(const std::string& podSandboxId,
                                     const std::vector<int32_t>& ports) {
  v1::PortForwardRequest request;
  request.set_pod_sandbox_id(podSandboxId);
  for (int32_t port : ports) {
    request.add_port(port);
  }
  return call("RuntimeService/PortForward", &Stub::PortForward, request).url();
}

v1::ContainerStats GrpcRuntime::containerStats(const std::string& containerId) {
  v1::ContainerStatsRequest request;
  request.set_container_id(containerId);
  return call("RuntimeService/ContainerStats", &Stub::ContainerStats, request).stats();
}

std::vector<v1::ContainerStats> GrpcRuntime::listContainerStats(
    const v1::ContainerStatsFilter& filter) {
  v1::ListContainerStatsRequest request;
  *request.mutable_filter() = filter;
  auto response = call("RuntimeService/ListContainerStats", &Stub::ListContainerStats, request);
  return {response.stats().begin(), response.stats().end()};
}

std::unique_ptr<EventStream> GrpcRuntime::containerEvents() {
  return std::make_unique<GrpcEventStream>(*stub_, caller_.endpoint());
}

}  // namespace kite::cri::detail
