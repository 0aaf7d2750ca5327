#pragma once
// The GetContainerEvents server stream. It has no deadline (it lives as long as
// the kubelet); cancel() ends it from another thread.

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "kite/cri/detail/grpc_services.h"
#include "kite/cri/runtime.h"

namespace kite::cri::detail {

class GrpcEventStream final : public EventStream {
 public:
  GrpcEventStream(v1::RuntimeService::Stub& stub, std::string endpoint);
  ~GrpcEventStream() override;

  std::optional<v1::ContainerEventResponse> next() override;
  void cancel() override;

 private:
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReader<v1::ContainerEventResponse>> reader_;
  std::string endpoint_;
  bool finished_ = false;
};

}  // namespace kite::cri::detail
