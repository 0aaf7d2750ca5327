#include "kite/kubelet/pod_hostname.h"

#include "kite/kubelet/sandbox_config_error.h"

namespace kite::kubelet {

namespace {

// Linux's HOST_NAME_MAX is 64; upstream keeps one byte for the terminator.
constexpr std::size_t kHostnameMaxLength = 63;
constexpr std::size_t kKernelFqdnMaxLength = 64;

bool isDnsLabel(const std::string& value) {
  if (value.empty() || value.size() > kHostnameMaxLength) return false;
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  for (char c : value) {
    if (!alnum(c) && c != '-') return false;
  }
  return alnum(value.front()) && alnum(value.back());
}

}  // namespace

PodHostname podHostname(const api::core::v1::Pod& pod, const std::string& clusterDomain) {
  const auto& spec = pod.spec;
  PodHostname out;
  out.hostname = pod.metadata.name;
  if (!spec.hostname.empty()) {
    if (!isDnsLabel(spec.hostname)) {
      throw SandboxConfigError("pod Hostname \"" + spec.hostname + "\" is not a valid DNS label");
    }
    out.hostname = spec.hostname;
  }
  if (out.hostname.size() > kHostnameMaxLength) {
    // A pod name may be a 253-character DNS subdomain; the kernel takes 63.
    out.hostname.resize(kHostnameMaxLength);
    while (!out.hostname.empty() && (out.hostname.back() == '-' || out.hostname.back() == '.')) {
      out.hostname.pop_back();
    }
    if (out.hostname.empty()) {
      throw SandboxConfigError("hostname for pod \"" + pod.metadata.name + "\" was invalid");
    }
  }
  if (!spec.subdomain.empty()) {
    if (!isDnsLabel(spec.subdomain)) {
      throw SandboxConfigError("pod Subdomain \"" + spec.subdomain + "\" is not a valid DNS label");
    }
    out.domain = spec.subdomain + "." + pod.metadata.namespace_ + ".svc." + clusterDomain;
  }
  return out;
}

std::string kernelHostname(const api::core::v1::Pod& pod, const PodHostname& name) {
  if (!pod.spec.setHostnameAsFQDN.value_or(false) || name.domain.empty()) return name.hostname;
  std::string fqdn = name.hostname + "." + name.domain;
  if (fqdn.size() > kKernelFqdnMaxLength) {
    throw SandboxConfigError(
        "failed to construct FQDN from pod hostname and cluster domain, FQDN " + fqdn +
        " is too long (64 characters is the max, " + std::to_string(fqdn.size()) +
        " characters requested)");
  }
  return fqdn;
}

}  // namespace kite::kubelet
