#include "kite/kubelet/sandbox_config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config_test_util.h"
#include "kite/kubelet/labels.h"
#include "kite/kubelet/sandbox_config_error.h"

namespace kite::kubelet {
namespace {

using testing::basicPod;
using ::testing::ElementsAre;
using testing::TempDir;
namespace corev1 = api::core::v1;

class SandboxConfigTest : public ::testing::Test {
 protected:
  SandboxConfigTest() {
    options_.attempt = 2;
    options_.podLogDir = "/var/log/pods/shop_web_uid-1";
    options_.cgroupParent = "/kubepods/besteffort/poduid-1";
    options_.hostResolvConf = dir_.write("resolv.conf", "nameserver 192.168.1.1\n");
    options_.clusterDNS = {"10.96.0.10"};
    options_.clusterDomain = "cluster.local";
  }

  cri::v1::PodSandboxConfig build() const { return sandboxConfig(pod_, options_); }

  corev1::ContainerPort port(int32_t containerPort, int32_t hostPort, const std::string& protocol,
                             const std::string& hostIP = "") {
    corev1::ContainerPort p;
    p.containerPort = containerPort;
    p.hostPort = hostPort;
    p.protocol = protocol;
    p.hostIP = hostIP;
    return p;
  }

  TempDir dir_;
  SandboxOptions options_;
  corev1::Pod pod_ = basicPod();
};

TEST_F(SandboxConfigTest, MetadataLogDirectoryAndCgroupParent) {
  const auto config = build();
  EXPECT_EQ(config.metadata().name(), "web");
  EXPECT_EQ(config.metadata().namespace_(), "shop");
  EXPECT_EQ(config.metadata().uid(), "uid-1");
  EXPECT_EQ(config.metadata().attempt(), 2U);
  EXPECT_EQ(config.log_directory(), "/var/log/pods/shop_web_uid-1");
  EXPECT_EQ(config.linux().cgroup_parent(), "/kubepods/besteffort/poduid-1");
  EXPECT_EQ(podLogDirectory("/var/log/pods", pod_), "/var/log/pods/shop_web_uid-1");
}

TEST_F(SandboxConfigTest, LabelsAreThePodsPlusIdentityAndAnnotationsThePods) {
  pod_.metadata.labels = {{"app", "web"}, {labels::kPodName, "spoofed"}};
  pod_.metadata.annotations = {{"note", "hello"}};
  const auto config = build();
  EXPECT_EQ(config.labels().at("app"), "web");
  EXPECT_EQ(config.labels().at(labels::kPodName), "web");
  EXPECT_EQ(config.labels().at(labels::kPodNamespace), "shop");
  EXPECT_EQ(config.labels().at(labels::kPodUid), "uid-1");
  EXPECT_EQ(config.labels().at(labels::kManagedBy), "kite-kubelet");
  EXPECT_EQ(config.annotations().size(), 1U);
  EXPECT_EQ(config.annotations().at("note"), "hello");
}

TEST_F(SandboxConfigTest, HostnameIsSpecHostnameOrThePodName) {
  EXPECT_EQ(build().hostname(), "web");
  pod_.spec.hostname = "front";
  EXPECT_EQ(build().hostname(), "front");
  pod_.spec.subdomain = "frontends";
  EXPECT_EQ(build().hostname(), "front");  // the domain goes to /etc/hosts only
  pod_.spec.setHostnameAsFQDN = true;
  EXPECT_EQ(build().hostname(), "front.frontends.shop.svc.cluster.local");
}

TEST_F(SandboxConfigTest, LongPodNamesAreCutTo63CharactersWithoutATrailingDash) {
  pod_.metadata.name = std::string(62, 'a') + "-bcd";
  EXPECT_EQ(build().hostname(), std::string(62, 'a'));
}

TEST_F(SandboxConfigTest, HostNetworkPodsKeepTheNodesHostname) {
  pod_.spec.hostNetwork = true;
  EXPECT_EQ(build().hostname(), "");
}

TEST_F(SandboxConfigTest, InvalidHostnameOrTooLongFqdnFailsTheSandbox) {
  pod_.spec.hostname = "Not_A_Label";
  EXPECT_THROW(build(), SandboxConfigError);
  pod_.spec.hostname = std::string(40, 'h');
  pod_.spec.subdomain = "sub";
  pod_.spec.setHostnameAsFQDN = true;
  EXPECT_THROW(build(), SandboxConfigError);  // 40 + ".sub.shop.svc.cluster.local" > 64
}

TEST_F(SandboxConfigTest, DnsFollowsThePolicy) {
  const auto config = build();
  EXPECT_THAT(config.dns_config().servers(), ElementsAre("10.96.0.10"));
  pod_.spec.dnsPolicy = "Default";
  EXPECT_THAT(build().dns_config().servers(), ElementsAre("192.168.1.1"));
}

TEST_F(SandboxConfigTest, PortMappingsComeFromEveryContainersPorts) {
  pod_.spec.containers[0].ports = {port(80, 8080, "TCP", "127.0.0.1"), port(53, 5353, "UDP"),
                                   port(9000, 0, "SCTP"), port(80, 8080, "TCP", "127.0.0.1")};
  corev1::Container sidecar;
  sidecar.name = "sidecar";
  sidecar.ports = {port(80, 8080, "TCP", "127.0.0.1")};  // another container: not a duplicate
  pod_.spec.containers.push_back(sidecar);
  corev1::Container init;
  init.name = "init";
  init.ports = {port(7000, 7000, "TCP")};  // init containers publish nothing
  pod_.spec.initContainers.push_back(init);

  const auto config = build();
  ASSERT_EQ(config.port_mappings_size(), 4);
  EXPECT_EQ(config.port_mappings(0).protocol(), cri::v1::TCP);
  EXPECT_EQ(config.port_mappings(0).container_port(), 80);
  EXPECT_EQ(config.port_mappings(0).host_port(), 8080);
  EXPECT_EQ(config.port_mappings(0).host_ip(), "127.0.0.1");
  EXPECT_EQ(config.port_mappings(1).protocol(), cri::v1::UDP);
  EXPECT_EQ(config.port_mappings(1).host_port(), 5353);
  EXPECT_EQ(config.port_mappings(2).protocol(), cri::v1::SCTP);
  EXPECT_EQ(config.port_mappings(2).host_port(), 0);
  EXPECT_EQ(config.port_mappings(3).container_port(), 80);
}

TEST_F(SandboxConfigTest, NamespaceOptions) {
  auto ns = [&] { return build().linux().security_context().namespace_options(); };
  EXPECT_EQ(ns().network(), cri::v1::POD);
  EXPECT_EQ(ns().pid(), cri::v1::CONTAINER);
  EXPECT_EQ(ns().ipc(), cri::v1::POD);
  pod_.spec.shareProcessNamespace = true;
  EXPECT_EQ(ns().pid(), cri::v1::POD);
  pod_.spec.hostNetwork = true;
  pod_.spec.hostPID = true;
  pod_.spec.hostIPC = true;
  EXPECT_EQ(ns().network(), cri::v1::NODE);
  EXPECT_EQ(ns().pid(), cri::v1::NODE);
  EXPECT_EQ(ns().ipc(), cri::v1::NODE);
}

TEST_F(SandboxConfigTest, PodSecurityContextSysctlsUserAndGroups) {
  corev1::PodSecurityContext sc;
  sc.runAsUser = 1000;
  sc.runAsGroup = 3000;
  sc.fsGroup = 2000;
  sc.supplementalGroups = {4000, 5000};
  sc.sysctls = {{"net.ipv4.ip_unprivileged_port_start", "0"}, {"kernel.shm_rmid_forced", "1"}};
  corev1::SELinuxOptions selinux;
  selinux.level = "s0:c123,c456";
  sc.seLinuxOptions = selinux;
  pod_.spec.securityContext = sc;

  const auto linux = build().linux();
  EXPECT_EQ(linux.sysctls().at("net.ipv4.ip_unprivileged_port_start"), "0");
  EXPECT_EQ(linux.sysctls().at("kernel.shm_rmid_forced"), "1");
  const auto& ssc = linux.security_context();
  EXPECT_EQ(ssc.run_as_user().value(), 1000);
  EXPECT_EQ(ssc.run_as_group().value(), 3000);
  EXPECT_THAT(ssc.supplemental_groups(), ElementsAre(2000, 4000, 5000));  // fsGroup first
  EXPECT_FALSE(ssc.readonly_rootfs());
  EXPECT_EQ(ssc.selinux_options().level(), "s0:c123,c456");
}

TEST_F(SandboxConfigTest, NoUserIsSetWithoutPodSecurityContext) {
  const auto config = build();
  const auto& ssc = config.linux().security_context();
  EXPECT_FALSE(ssc.has_run_as_user());
  EXPECT_FALSE(ssc.has_run_as_group());
  EXPECT_FALSE(ssc.has_selinux_options());
}

TEST_F(SandboxConfigTest, PrivilegedWhenAnyContainerIsPrivileged) {
  EXPECT_FALSE(build().linux().security_context().privileged());
  corev1::Container init;
  init.name = "setup";
  corev1::SecurityContext sc;
  sc.privileged = true;
  init.securityContext = sc;
  pod_.spec.initContainers.push_back(init);
  EXPECT_TRUE(build().linux().security_context().privileged());
}

TEST_F(SandboxConfigTest, SandboxAlwaysRunsTheRuntimeDefaultSeccompProfile) {
  corev1::PodSecurityContext sc;
  corev1::SeccompProfile unconfined;
  unconfined.type = "Unconfined";
  sc.seccompProfile = unconfined;
  pod_.spec.securityContext = sc;
  EXPECT_EQ(build().linux().security_context().seccomp().profile_type(),
            cri::v1::SecurityProfile::RuntimeDefault);
}

}  // namespace
}  // namespace kite::kubelet
