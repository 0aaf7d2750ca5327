// cri_update_runtime_config SOCKET POD_CIDR: the CRI call a kubelet makes once its Node has a
// podCIDR (RuntimeService/UpdateRuntimeConfig), so the install test can see containerd render
// kite's CNI template. Waits up to 20 s for the runtime to serve.
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <iostream>
#include <string>

#include "runtime/v1/api.grpc.pb.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: cri_update_runtime_config SOCKET POD_CIDR\n";
    return 2;
  }
  auto channel =
      grpc::CreateChannel(std::string("unix://") + argv[1], grpc::InsecureChannelCredentials());
  auto runtime = runtime::v1::RuntimeService::NewStub(channel);
  runtime::v1::UpdateRuntimeConfigRequest request;
  request.mutable_runtime_config()->mutable_network_config()->set_pod_cidr(argv[2]);
  runtime::v1::UpdateRuntimeConfigResponse response;
  grpc::ClientContext context;
  context.set_wait_for_ready(true);
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  const auto status = runtime->UpdateRuntimeConfig(&context, request, &response);
  if (!status.ok()) {
    std::cerr << "UpdateRuntimeConfig: " << status.error_message() << "\n";
    return 1;
  }
  return 0;
}
