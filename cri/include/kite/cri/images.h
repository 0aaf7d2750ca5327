#pragma once
// The image side of the runtime: the CRI ImageService. Throws cri::Error.

#include <optional>
#include <string>
#include <vector>

#include "kite/cri/api.h"
#include "kite/cri/error.h"

namespace kite::cri {

class Images {
 public:
  virtual ~Images() = default;

  virtual std::vector<v1::Image> listImages(const v1::ImageFilter& filter = {}) = 0;
  // nullopt when the runtime does not have the image.
  virtual std::optional<v1::Image> imageStatus(const v1::ImageSpec& image) = 0;
  // Returns the image reference the runtime resolved (usually a digest).
  virtual std::string pullImage(const v1::ImageSpec& image, const v1::AuthConfig& auth = {},
                                const v1::PodSandboxConfig* sandboxConfig = nullptr) = 0;
  virtual void removeImage(const v1::ImageSpec& image) = 0;
  virtual v1::ImageFsInfoResponse imageFsInfo() = 0;
};

// Shorthand for the common case of an image named by reference only.
v1::ImageSpec imageSpec(const std::string& reference);

}  // namespace kite::cri
