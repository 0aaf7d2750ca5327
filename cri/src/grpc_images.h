#pragma once
// cri::Images over gRPC: the ImageService of a real containerd or CRI-O.

#include <grpcpp/grpcpp.h>

#include <memory>

#include "grpc_caller.h"
#include "kite/cri/detail/grpc_services.h"
#include "kite/cri/grpc_client.h"
#include "kite/cri/images.h"

namespace kite::cri::detail {

class GrpcImages final : public Images {
 public:
  GrpcImages(std::shared_ptr<grpc::Channel> channel, std::string endpoint,
             const ClientOptions& options);

  std::vector<v1::Image> listImages(const v1::ImageFilter& filter) override;
  std::optional<v1::Image> imageStatus(const v1::ImageSpec& image) override;
  std::string pullImage(const v1::ImageSpec& image, const v1::AuthConfig& auth,
                        const v1::PodSandboxConfig* sandboxConfig) override;
  void removeImage(const v1::ImageSpec& image) override;
  v1::ImageFsInfoResponse imageFsInfo() override;

 private:
  std::unique_ptr<v1::ImageService::Stub> stub_;
  Caller caller_;
  std::chrono::milliseconds timeout_;
  std::chrono::milliseconds pullTimeout_;
};

}  // namespace kite::cri::detail
