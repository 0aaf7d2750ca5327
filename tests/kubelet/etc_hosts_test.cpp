#include "kite/kubelet/etc_hosts.h"

#include <gtest/gtest.h>

#include "config_test_util.h"
#include "kite/kubelet/pod_hostname.h"

namespace kite::kubelet {
namespace {

using testing::basicPod;

TEST(EtcHosts, PodWithSubdomainAndHostAliases) {
  auto pod = basicPod();
  pod.spec.hostname = "front";
  pod.spec.subdomain = "frontends";
  pod.spec.hostAliases = {{"10.1.2.3", {"foo.local", "bar.local"}}, {"10.1.2.4", {"baz.local"}}};
  const PodHostname name = podHostname(pod, "cluster.local");
  EXPECT_EQ(name.hostname, "front");
  EXPECT_EQ(name.domain, "frontends.shop.svc.cluster.local");
  EXPECT_EQ(etcHostsContent(pod, {"10.244.0.5", "fd00::5"}, name.hostname, name.domain),
            "# Kubernetes-managed hosts file.\n"
            "127.0.0.1\tlocalhost\n"
            "::1\tlocalhost ip6-localhost ip6-loopback\n"
            "fe00::0\tip6-localnet\n"
            "fe00::0\tip6-mcastprefix\n"
            "fe00::1\tip6-allnodes\n"
            "fe00::2\tip6-allrouters\n"
            "10.244.0.5\tfront.frontends.shop.svc.cluster.local\tfront\n"
            "fd00::5\tfront.frontends.shop.svc.cluster.local\tfront\n"
            "\n"
            "# Entries added by HostAliases.\n"
            "10.1.2.3\tfoo.local\tbar.local\n"
            "10.1.2.4\tbaz.local\n");
}

TEST(EtcHosts, PodWithoutSubdomainOrAliases) {
  const auto pod = basicPod();
  const std::string content = etcHostsContent(pod, {"10.244.0.5"}, "web");
  EXPECT_EQ(content.substr(content.find("fe00::2")),
            "fe00::2\tip6-allrouters\n"
            "10.244.0.5\tweb\n");
}

TEST(EtcHosts, HostNetworkPodGetsTheNodesFileAndItsAliases) {
  auto pod = basicPod();
  pod.spec.hostNetwork = true;
  pod.spec.hostAliases = {{"10.1.2.3", {"foo.local"}}};
  EXPECT_EQ(hostNetworkEtcHostsContent(pod, "127.0.0.1\tlocalhost\n192.168.1.10\tnode1\n"),
            "# Kubernetes-managed hosts file (host network).\n"
            "127.0.0.1\tlocalhost\n"
            "192.168.1.10\tnode1\n"
            "\n"
            "# Entries added by HostAliases.\n"
            "10.1.2.3\tfoo.local\n");
}

}  // namespace
}  // namespace kite::kubelet
