#pragma once
// A pod's hostname and domain as upstream derives them: spec.hostname or the
// pod name (cut to the kernel's 63 characters), and with spec.subdomain the
// domain <subdomain>.<namespace>.svc.<cluster domain>. The sandbox gets the
// hostname (the FQDN with setHostnameAsFQDN); /etc/hosts gets both.

#include <string>

#include "kite/api/core/v1/types.h"

namespace kite::kubelet {

struct PodHostname {
  std::string hostname;
  std::string domain;  // empty without spec.subdomain
};

// Throws SandboxConfigError when spec.hostname or spec.subdomain is not a DNS
// label (static pods skip API validation, so the kubelet checks again).
PodHostname podHostname(const api::core::v1::Pod& pod, const std::string& clusterDomain);

// The name the kernel gets (UTS hostname): the hostname, or hostname.domain
// with spec.setHostnameAsFQDN. Throws SandboxConfigError when that FQDN is
// longer than the kernel's 64 characters.
std::string kernelHostname(const api::core::v1::Pod& pod, const PodHostname& name);

}  // namespace kite::kubelet
