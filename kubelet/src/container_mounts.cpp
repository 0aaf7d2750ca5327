#include "kite/kubelet/container_mounts.h"

#include <filesystem>

#include "kite/kubelet/container_env.h"

namespace kite::kubelet {

namespace corev1 = api::core::v1;

namespace {

constexpr const char* kEtcHosts = "/etc/hosts";

bool samePath(const std::string& a, const std::string& b) {
  return a == b ||
         std::filesystem::path(a).lexically_normal() == std::filesystem::path(b).lexically_normal();
}

const corev1::VolumeMount* volumeMountAt(const corev1::Container& container,
                                         const std::string& path) {
  for (const auto& vm : container.volumeMounts) {
    if (samePath(vm.mountPath, path)) return &vm;
  }
  return nullptr;
}

}  // namespace

cri::v1::MountPropagation mountPropagation(const corev1::Container& container,
                                           const corev1::VolumeMount& mount) {
  if (!mount.mountPropagation || *mount.mountPropagation == corev1::MountPropagationMode::None) {
    return cri::v1::PROPAGATION_PRIVATE;
  }
  const std::string& mode = *mount.mountPropagation;
  if (mode == corev1::MountPropagationMode::HostToContainer) {
    return cri::v1::PROPAGATION_HOST_TO_CONTAINER;
  }
  if (mode == corev1::MountPropagationMode::Bidirectional) {
    const bool privileged =
        container.securityContext && container.securityContext->privileged.value_or(false);
    if (!privileged) {
      throw ContainerConfigError("volumeMount \"" + mount.name +
                                 "\": Bidirectional mount propagation is available only to "
                                 "privileged containers");
    }
    return cri::v1::PROPAGATION_BIDIRECTIONAL;
  }
  throw ContainerConfigError("invalid MountPropagation mode: \"" + mode + "\"");
}

std::vector<cri::v1::Mount> containerMounts(const corev1::Container& container,
                                            const std::vector<cri::v1::Mount>& volumeMounts,
                                            const std::string& etcHostsPath,
                                            const std::string& terminationMessageHostPath) {
  // Every volumeMount is checked, also one the caller did not resolve.
  for (const auto& vm : container.volumeMounts) mountPropagation(container, vm);
  std::vector<cri::v1::Mount> out;
  out.reserve(volumeMounts.size() + 2);
  for (const auto& resolved : volumeMounts) {
    cri::v1::Mount mount = resolved;
    if (const auto* vm = volumeMountAt(container, mount.container_path())) {
      mount.set_readonly(mount.readonly() || vm->readOnly);
      mount.set_propagation(mountPropagation(container, *vm));
    }
    out.push_back(std::move(mount));
  }
  // A pod that mounts its own /etc/hosts keeps it.
  if (!etcHostsPath.empty() && volumeMountAt(container, kEtcHosts) == nullptr) {
    cri::v1::Mount hosts;
    hosts.set_host_path(etcHostsPath);
    hosts.set_container_path(kEtcHosts);
    out.push_back(std::move(hosts));
  }
  if (!terminationMessageHostPath.empty() && !container.terminationMessagePath.empty()) {
    cri::v1::Mount message;
    message.set_host_path(terminationMessageHostPath);
    message.set_container_path(container.terminationMessagePath);
    out.push_back(std::move(message));
  }
  return out;
}

}  // namespace kite::kubelet
