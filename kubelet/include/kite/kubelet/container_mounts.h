#pragma once
// The mounts of a container: its volumes (resolved to host paths by the
// caller), then the kubelet-managed /etc/hosts, then the file behind
// terminationMessagePath — upstream's order.

#include <string>
#include <vector>

#include "kite/api/core/v1/types.h"
#include "kite/cri/api.h"

namespace kite::kubelet {

// mountPropagation of a volumeMount as CRI propagation: unset and None are
// private, HostToContainer is rslave, Bidirectional rshared. Bidirectional is
// refused (ContainerConfigError, upstream's validation message) unless the
// container is privileged: a shared mount lets it mount onto the host.
cri::v1::MountPropagation mountPropagation(const api::core::v1::Container& container,
                                           const api::core::v1::VolumeMount& mount);

// `volumeMounts` are the caller's resolved mounts; each whose container_path
// is a volumeMount's mountPath gets that volumeMount's readOnly (added to any
// read-only the caller set) and propagation. `etcHostsPath` (empty: none) is
// mounted at /etc/hosts unless a volume already is;
// `terminationMessageHostPath` (empty: none) at terminationMessagePath.
std::vector<cri::v1::Mount> containerMounts(const api::core::v1::Container& container,
                                            const std::vector<cri::v1::Mount>& volumeMounts,
                                            const std::string& etcHostsPath,
                                            const std::string& terminationMessageHostPath);

}  // namespace kite::kubelet
