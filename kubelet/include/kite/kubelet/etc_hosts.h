#pragma once
// The /etc/hosts file the kubelet writes for each pod and mounts into every
// container, in upstream's format, so tools that parse it (or tests that
// compare it) see what they would see under the upstream kubelet.

#include <string>
#include <vector>

#include "kite/api/core/v1/types.h"

namespace kite::kubelet {

// A pod with its own network: a "# Kubernetes-managed hosts file." header,
// the localhost entries (IPv4 and IPv6), one line per pod IP with the
// hostname (preceded by hostname.hostDomain when the pod has a subdomain),
// then the spec.hostAliases after "# Entries added by HostAliases.".
// `hostname` and `hostDomain` come from podHostname() (pod_hostname.h).
std::string etcHostsContent(const api::core::v1::Pod& pod, const std::vector<std::string>& podIPs,
                            const std::string& hostname, const std::string& hostDomain = "");

// A hostNetwork pod: the node's own hosts file (`nodeHostsContent`, read by
// the caller from /etc/hosts) under a "(host network)" header, then the
// spec.hostAliases.
std::string hostNetworkEtcHostsContent(const api::core::v1::Pod& pod,
                                       const std::string& nodeHostsContent);

}  // namespace kite::kubelet
