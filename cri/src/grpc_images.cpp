#include "grpc_images.h"

namespace kite::cri::detail {

using Stub = v1::ImageService::Stub;

GrpcImages::GrpcImages(std::shared_ptr<grpc::Channel> channel, std::string endpoint,
                       const ClientOptions& options)
    : stub_(v1::ImageService::NewStub(std::move(channel))),
      caller_(std::move(endpoint)),
      timeout_(options.requestTimeout),
      pullTimeout_(options.pullTimeout) {}

std::vector<v1::Image> GrpcImages::listImages(const v1::ImageFilter& filter) {
  v1::ListImagesRequest request;
  *request.mutable_filter() = filter;
  auto response =
      caller_.unary("ImageService/ListImages", *stub_, &Stub::ListImages, request, timeout_);
  return {response.images().begin(), response.images().end()};
}

std::optional<v1::Image> GrpcImages::imageStatus(const v1::ImageSpec& image) {
  v1::ImageStatusRequest request;
  *request.mutable_image() = image;
  auto response =
      caller_.unary("ImageService/ImageStatus", *stub_, &Stub::ImageStatus, request, timeout_);
  // The CRI answers "not present" with an empty image, not with an error.
  if (!response.has_image() || response.image().id().empty()) {
    return std::nullopt;
  }
  return response.image();
}

std::string GrpcImages::pullImage(const v1::ImageSpec& image, const v1::AuthConfig& auth,
                                  const v1::PodSandboxConfig* sandboxConfig) {
  v1::PullImageRequest request;
  *request.mutable_image() = image;
  *request.mutable_auth() = auth;
  if (sandboxConfig != nullptr) {
    *request.mutable_sandbox_config() = *sandboxConfig;
  }
  return caller_.unary("ImageService/PullImage", *stub_, &Stub::PullImage, request, pullTimeout_)
      .image_ref();
}

void GrpcImages::removeImage(const v1::ImageSpec& image) {
  v1::RemoveImageRequest request;
  *request.mutable_image() = image;
  caller_.unary("ImageService/RemoveImage", *stub_, &Stub::RemoveImage, request, timeout_);
}

v1::ImageFsInfoResponse GrpcImages::imageFsInfo() {
  return caller_.unary("ImageService/ImageFsInfo", *stub_, &Stub::ImageFsInfo,
                       v1::ImageFsInfoRequest{}, timeout_);
}

}  // namespace kite::cri::detail
