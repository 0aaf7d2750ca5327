#pragma once
// Image pulls as the kubelet does them: the pull policy (with the default rule
// for untagged and :latest images), back-off after failures, and credentials
// from imagePullSecrets. Failures come back as ImagePullError whose reason is
// what the container's waiting state shows (ErrImagePull, ImagePullBackOff,
// ErrImageNeverPull, InvalidImageName).

#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "kite/base/backoff.h"
#include "kite/cri/images.h"

namespace kite::kubelet {

enum class PullPolicy { kAlways, kIfNotPresent, kNever };

// Parses imagePullPolicy; "" applies the default rule (":latest" or no tag →
// Always, anything else → IfNotPresent). Throws std::invalid_argument otherwise.
PullPolicy pullPolicyFor(const std::string& image, const std::string& policy);

// Registry host of an image reference as the runtime resolves it
// ("busybox" → "docker.io", "127.0.0.1:5000/x" → "127.0.0.1:5000").
std::string registryHost(const std::string& image);

// Credentials for `image` from docker config JSON documents (the content of
// kubernetes.io/dockerconfigjson secrets, {"auths": {...}}), best match first.
// Throws std::invalid_argument naming what is malformed.
std::vector<cri::v1::AuthConfig> credentialsFor(const std::string& image,
                                                const std::vector<std::string>& dockerConfigs);

class ImagePullError : public std::runtime_error {
 public:
  ImagePullError(std::string reason, const std::string& message)
      : std::runtime_error(message), reason_(std::move(reason)) {}
  const std::string& reason() const { return reason_; }

 private:
  std::string reason_;
};

// What ensureImage did: the image's id (for ContainerStatus.imageID), and whether it pulled
// (for the Pulling/Pulled events, whose messages upstream words differently for each case).
struct EnsuredImage {
  std::string id;
  bool pulled = false;
  std::chrono::milliseconds pullTime{0};
  uint64_t size = 0;
  // The runtime's status of the image (its user decides runAsNonRoot), read once here rather
  // than again by the caller.
  std::optional<cri::v1::Image> image{};
};

// The Pulled event's message after a pull, worded as upstream's:
// Successfully pulled image "busybox:1.35" in 1.2s (1.2s including waiting). Image size: 1 bytes.
std::string pulledMessage(const std::string& image, const EnsuredImage& ensured);

// The event {type, reason} upstream records for a failed ensureImage: Warning Failed for a
// failed pull, Normal BackOff while backing off, Warning ErrImageNeverPull, Warning
// InspectFailed for a name that does not parse.
std::pair<std::string, std::string> pullFailureEvent(const ImagePullError& error);

class ImageManager {
 public:
  ImageManager(cri::Images& images, const base::Clock& clock);

  // Makes sure `image` is present according to `policy`. `backoffKey` scopes back-off
  // (the pod uid), so one pod's failures do not delay another pod's pulls.
  EnsuredImage ensureImage(const std::string& backoffKey, const std::string& image,
                           PullPolicy policy, const std::vector<cri::v1::AuthConfig>& credentials,
                           const cri::v1::PodSandboxConfig& sandbox);

 private:
  cri::Images& images_;
  const base::Clock& clock_;
  base::Backoff backoff_;
};

}  // namespace kite::kubelet
