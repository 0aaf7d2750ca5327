#pragma once
// The local-path provisioner's clean-up on the node, done the way k3s's provisioner does it: a
// short-lived "helper pod" pinned to the volume's node mounts the storage folder and removes
// the volume's directory; the volume is deleted once that pod has succeeded. The controllers
// run in the server, the data lives on the node, so a pod is what reaches it.

#include <optional>
#include <string>

#include "kite/api/core/v1/types.h"

namespace kite::controlplane::controllers {

// Labels every helper pod carries (the informer of helper pods selects on them).
inline constexpr const char* kLocalPathHelperLabel = "kite.io/local-path-helper";
inline constexpr const char* kLocalPathHelperNamespace = "kube-system";

// "helper-pod-delete-<volume>", as k3s names them.
std::string localPathDeletePodName(const std::string& volumeName);

// The helper pod that removes `volume`'s hostPath directory on `nodeName`, or nullopt when the
// path is not one the provisioner could have made (absolute, a plain name under its folder):
// nothing outside the storage folder is ever removed.
std::optional<api::core::v1::Pod> localPathDeletePod(const api::core::v1::PersistentVolume& volume,
                                                     const std::string& nodeName,
                                                     const std::string& image);

// The kubernetes.io/hostname value the volume's node affinity requires, or "" when none.
std::string localPathVolumeHostname(const api::core::v1::PersistentVolume& volume);

}  // namespace kite::controlplane::controllers
