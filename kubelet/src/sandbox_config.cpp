#include "kite/kubelet/sandbox_config.h"

#include <set>

#include "kite/kubelet/labels.h"
#include "kite/kubelet/namespace_options.h"
#include "kite/kubelet/pod_hostname.h"
#include "kite/kubelet/sandbox_config_error.h"
#include "kite/kubelet/security_context.h"

namespace kite::kubelet {

namespace corev1 = api::core::v1;

namespace {

cri::v1::Protocol toRuntimeProtocol(const std::string& protocol) {
  if (protocol == corev1::Protocol::UDP) return cri::v1::UDP;
  if (protocol == corev1::Protocol::SCTP) return cri::v1::SCTP;
  return cri::v1::TCP;  // TCP, and whatever else, as upstream
}

// Every port of every (regular) container, as upstream passes them: the
// runtime publishes those with a hostPort and ignores the rest. A port listed
// twice in one container (same name, or same family/protocol/IP/ports when
// unnamed) counts once.
void addPortMappings(cri::v1::PodSandboxConfig& config, const corev1::Pod& pod) {
  for (const auto& container : pod.spec.containers) {
    std::set<std::string> names;
    for (const auto& port : container.ports) {
      std::string name = port.name;
      if (name.empty()) {
        const char* family = port.hostIP.empty()
                                 ? "any"
                                 : (port.hostIP.find(':') != std::string::npos ? "v6" : "v4");
        name = std::string(family) + "-" + port.protocol + "-" + port.hostIP + ":" +
               std::to_string(port.containerPort) + ":" + std::to_string(port.hostPort);
      }
      if (!names.insert(name).second) continue;
      auto* mapping = config.add_port_mappings();
      mapping->set_protocol(toRuntimeProtocol(port.protocol));
      mapping->set_container_port(port.containerPort);
      mapping->set_host_port(port.hostPort);
      mapping->set_host_ip(port.hostIP);
    }
  }
}

void setLinux(cri::v1::LinuxPodSandboxConfig& linux, const corev1::Pod& pod,
              const SandboxOptions& options) {
  linux.set_cgroup_parent(options.cgroupParent);
  auto& sc = *linux.mutable_security_context();
  sc.set_privileged(hasPrivilegedContainer(pod));
  // The pause process always runs under the runtime's default profile, so
  // users can give their containers a tighter one (kubernetes#84623).
  sc.mutable_seccomp()->set_profile_type(cri::v1::SecurityProfile::RuntimeDefault);
  // Upstream sets namespaces only with a pod securityContext, which the API
  // server always defaults; kite sets them always.
  *sc.mutable_namespace_options() = namespacesForPod(pod);
  if (!pod.spec.securityContext) return;
  const auto& podSc = *pod.spec.securityContext;
  for (const auto& sysctl : podSc.sysctls) (*linux.mutable_sysctls())[sysctl.name] = sysctl.value;
  if (podSc.runAsUser) sc.mutable_run_as_user()->set_value(*podSc.runAsUser);
  if (podSc.runAsGroup) sc.mutable_run_as_group()->set_value(*podSc.runAsGroup);
  if (podSc.fsGroup) sc.add_supplemental_groups(*podSc.fsGroup);
  for (int64_t group : podSc.supplementalGroups) sc.add_supplemental_groups(group);
  if (podSc.supplementalGroupsPolicy) {
    cri::v1::SupplementalGroupsPolicy policy{};
    if (!cri::v1::SupplementalGroupsPolicy_Parse(*podSc.supplementalGroupsPolicy, &policy)) {
      throw SandboxConfigError("unsupported supplementalGroupsPolicy: " +
                               *podSc.supplementalGroupsPolicy);
    }
    sc.set_supplemental_groups_policy(policy);
  }
  if (podSc.seLinuxOptions) {
    auto* selinux = sc.mutable_selinux_options();
    selinux->set_user(podSc.seLinuxOptions->user);
    selinux->set_role(podSc.seLinuxOptions->role);
    selinux->set_type(podSc.seLinuxOptions->type);
    selinux->set_level(podSc.seLinuxOptions->level);
  }
}

}  // namespace

std::string podLogDirectory(const std::filesystem::path& root, const corev1::Pod& pod) {
  return (root / (pod.metadata.namespace_ + "_" + pod.metadata.name + "_" + pod.metadata.uid))
      .string();
}

cri::v1::PodSandboxConfig sandboxConfig(const corev1::Pod& pod, const SandboxOptions& options) {
  cri::v1::PodSandboxConfig config;
  auto* metadata = config.mutable_metadata();
  metadata->set_name(pod.metadata.name);
  metadata->set_namespace_(pod.metadata.namespace_);
  metadata->set_uid(pod.metadata.uid);
  metadata->set_attempt(options.attempt);

  auto& labelMap = *config.mutable_labels();
  for (const auto& [key, value] : pod.metadata.labels) labelMap[key] = value;
  labelMap[labels::kPodName] = pod.metadata.name;
  labelMap[labels::kPodNamespace] = pod.metadata.namespace_;
  labelMap[labels::kPodUid] = pod.metadata.uid;
  labelMap[labels::kManagedBy] = labels::kManagedByValue;
  for (const auto& [key, value] : pod.metadata.annotations) {
    (*config.mutable_annotations())[key] = value;
  }

  const DnsSettings dns{options.hostResolvConf, options.clusterDNS, options.clusterDomain,
                        options.nodeIPs};
  *config.mutable_dns_config() = podDnsConfig(pod, dns, options.warnings);
  // A hostNetwork pod has the node's UTS namespace and so its hostname.
  if (!pod.spec.hostNetwork) {
    config.set_hostname(kernelHostname(pod, podHostname(pod, options.clusterDomain)));
  }
  config.set_log_directory(options.podLogDir);
  addPortMappings(config, pod);
  setLinux(*config.mutable_linux(), pod, options);
  return config;
}

}  // namespace kite::kubelet
