#pragma once
// A pod's resolv.conf (the sandbox's CRI DNSConfig), built as upstream's
// kubelet builds it from spec.dnsPolicy and spec.dnsConfig:
//   ClusterFirst             cluster DNS servers; searches <ns>.svc.<domain>,
//                            svc.<domain>, <domain>, then the host's; ndots:5.
//                            With hostNetwork it behaves as Default.
//   ClusterFirstWithHostNet  ClusterFirst, also for hostNetwork pods.
//   Default                  the node's resolv.conf (kubelet --resolv-conf).
//   None                     nothing but spec.dnsConfig.
// spec.dnsConfig is then merged in (nameservers and searches appended without
// duplicates, options replaced by name) and the result cut to the resolver's
// limits: 3 nameservers, 32 search domains of at most 253 characters, 2048
// characters of search line.

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "kite/api/core/v1/types.h"
#include "kite/cri/api.h"

namespace kite::kubelet {

inline constexpr std::size_t kMaxDnsNameservers = 3;
inline constexpr std::size_t kMaxDnsSearchPaths = 32;
inline constexpr std::size_t kMaxDnsSearchListChars = 2048;

struct ResolvConf {
  std::vector<std::string> servers;
  std::vector<std::string> searches;
  std::vector<std::string> options;
};

// resolv.conf text: nameserver lines accumulate, the last search line wins
// (trailing dots dropped, "." ignored), options accumulate with a later
// option replacing an earlier one of the same name. A nameserver line without
// an address throws SandboxConfigError, as upstream refuses such a file.
ResolvConf parseResolvConf(std::string_view text);

struct DnsSettings {
  // The node's resolv.conf (kubelet --resolv-conf); empty means none, and then
  // Default pods resolve through the node itself (127.0.0.1 / ::1).
  std::filesystem::path hostResolvConf;
  std::vector<std::string> clusterDNS;  // kubelet --cluster-dns
  std::string clusterDomain;            // kubelet --cluster-domain
  std::vector<std::string> nodeIPs;     // picks 127.0.0.1 and/or ::1 without a resolv.conf
};

// Something worth an Event on the pod (upstream's reasons: MissingClusterDNS,
// DNSConfigForming) that does not stop it from starting.
struct ConfigWarning {
  std::string reason;
  std::string message;
};

// Reads settings.hostResolvConf (whatever the policy, as upstream does, so a
// broken node file fails every pod the same way). Throws SandboxConfigError
// when it cannot be read or parsed. Warnings are appended to `warnings` when
// given.
cri::v1::DNSConfig podDnsConfig(const api::core::v1::Pod& pod, const DnsSettings& settings,
                                std::vector<ConfigWarning>* warnings = nullptr);

}  // namespace kite::kubelet
