#include "kite/kubelet/etc_hosts.h"

namespace kite::kubelet {

namespace {

std::string hostAliasEntries(const api::core::v1::Pod& pod) {
  if (pod.spec.hostAliases.empty()) return "";
  std::string out = "\n# Entries added by HostAliases.\n";
  // One line per alias entry, its hostnames tab-separated.
  for (const auto& alias : pod.spec.hostAliases) {
    out += alias.ip + "\t";
    for (std::size_t i = 0; i < alias.hostnames.size(); ++i) {
      out += (i == 0 ? "" : "\t") + alias.hostnames[i];
    }
    out += "\n";
  }
  return out;
}

}  // namespace

std::string etcHostsContent(const api::core::v1::Pod& pod, const std::vector<std::string>& podIPs,
                            const std::string& hostname, const std::string& hostDomain) {
  std::string out =
      "# Kubernetes-managed hosts file.\n"
      "127.0.0.1\tlocalhost\n"
      "::1\tlocalhost ip6-localhost ip6-loopback\n"
      "fe00::0\tip6-localnet\n"
      "fe00::0\tip6-mcastprefix\n"
      "fe00::1\tip6-allnodes\n"
      "fe00::2\tip6-allrouters\n";
  for (const auto& ip : podIPs) {
    out.append(ip).append("\t");
    if (!hostDomain.empty()) out.append(hostname).append(".").append(hostDomain).append("\t");
    out.append(hostname).append("\n");
  }
  return out + hostAliasEntries(pod);
}

std::string hostNetworkEtcHostsContent(const api::core::v1::Pod& pod,
                                       const std::string& nodeHostsContent) {
  return "# Kubernetes-managed hosts file (host network).\n" + nodeHostsContent +
         hostAliasEntries(pod);
}

}  // namespace kite::kubelet
