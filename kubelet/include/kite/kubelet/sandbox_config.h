#pragma once
// The CRI sandbox configuration of a pod (RunPodSandbox), built as upstream's
// kubelet builds it: metadata, hostname, log directory, resolv.conf, port
// mappings, labels and annotations, and the Linux settings (cgroup parent,
// sysctls, namespaces, user and groups, privileged, seccomp).

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "kite/api/core/v1/types.h"
#include "kite/cri/api.h"
#include "kite/kubelet/pod_dns.h"

namespace kite::kubelet {

struct SandboxOptions {
  uint32_t attempt = 0;                  // how many sandboxes this pod had before
  std::string podLogDir;                 // podLogDirectory(...)
  std::string cgroupParent;              // PodCgroups::podCgroupPath(...)
  std::filesystem::path hostResolvConf;  // kubelet --resolv-conf; empty: none
  std::vector<std::string> clusterDNS;   // kubelet --cluster-dns
  std::string clusterDomain;             // kubelet --cluster-domain
  std::vector<std::string> nodeIPs;      // only used without a resolv.conf
  // Receives what deserves an Event on the pod (DNS limits, missing cluster DNS).
  std::vector<ConfigWarning>* warnings = nullptr;
};

// <root>/<namespace>_<name>_<uid>, upstream's layout under /var/log/pods.
std::string podLogDirectory(const std::filesystem::path& root, const api::core::v1::Pod& pod);

// Reads options.hostResolvConf. Throws SandboxConfigError (hostname, DNS).
cri::v1::PodSandboxConfig sandboxConfig(const api::core::v1::Pod& pod,
                                        const SandboxOptions& options);

}  // namespace kite::kubelet
