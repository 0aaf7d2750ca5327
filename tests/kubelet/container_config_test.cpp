#include "kite/kubelet/container_config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config_test_util.h"
#include "kite/kubelet/labels.h"

namespace kite::kubelet {
namespace {

using testing::basicPod;
using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
namespace corev1 = api::core::v1;

class ContainerConfigTest : public ::testing::Test {
 protected:
  ContainerConfigTest() {
    options_.restartCount = 3;
    options_.containerHash = "5f1a2b";
    options_.seccompProfileRoot = "/var/lib/kite/seccomp";
  }

  corev1::Container& app() { return pod_.spec.containers[0]; }
  cri::v1::ContainerConfig build() { return containerConfig(pod_, app(), options_); }
  cri::v1::LinuxContainerSecurityContext security() { return build().linux().security_context(); }

  // The ContainerConfigError message of build(), "" if none.
  std::string refusal() {
    try {
      build();
    } catch (const ContainerConfigError& e) {
      return e.what();
    }
    return "";
  }

  corev1::SecurityContext& containerSc() {
    if (!app().securityContext) app().securityContext.emplace();
    return *app().securityContext;
  }
  corev1::PodSecurityContext& podSc() {
    if (!pod_.spec.securityContext) pod_.spec.securityContext.emplace();
    return *pod_.spec.securityContext;
  }

  static cri::v1::Mount hostMount(const std::string& host, const std::string& container) {
    cri::v1::Mount m;
    m.set_host_path(host);
    m.set_container_path(container);
    return m;
  }
  static corev1::VolumeMount volumeMount(const std::string& name, const std::string& path) {
    corev1::VolumeMount vm;
    vm.name = name;
    vm.mountPath = path;
    return vm;
  }

  corev1::Pod pod_ = basicPod();
  ContainerOptions options_;
};

TEST_F(ContainerConfigTest, MetadataImageLogPathAndStdio) {
  app().workingDir = "/srv";
  app().stdin = true;
  app().stdinOnce = true;
  app().tty = true;
  auto config = build();
  EXPECT_EQ(config.metadata().name(), "app");
  EXPECT_EQ(config.metadata().attempt(), 3U);
  EXPECT_EQ(config.image().image(), "nginx:1.22.1");
  EXPECT_EQ(config.working_dir(), "/srv");
  EXPECT_EQ(config.log_path(), "app/3.log");
  EXPECT_TRUE(config.stdin());
  EXPECT_TRUE(config.stdin_once());
  EXPECT_TRUE(config.tty());

  options_.imageRef = "sha256:0123abcd";
  config = build();
  EXPECT_EQ(config.image().image(), "sha256:0123abcd");
  EXPECT_EQ(config.image().user_specified_image(), "nginx:1.22.1");
}

TEST_F(ContainerConfigTest, CommandAndArgsExpandVariablesAgainstTheEnvironment) {
  options_.env = {{"GREETING", "hi"}, {"TARGET", "old"}, {"TARGET", "world"}};
  app().command = {"/bin/sh", "-c"};
  app().args = {"echo $(GREETING) $(TARGET) $(UNDEFINED) $$(GREETING)"};
  const auto config = build();
  EXPECT_THAT(config.command(), ElementsAre("/bin/sh", "-c"));
  EXPECT_THAT(config.args(), ElementsAre("echo hi world $(UNDEFINED) $(GREETING)"));
  ASSERT_EQ(config.envs_size(), 3);  // in order, as resolved by the caller
  EXPECT_EQ(config.envs(0).key(), "GREETING");
  EXPECT_EQ(config.envs(2).value(), "world");
}

TEST_F(ContainerConfigTest, LabelsAndAnnotations) {
  pod_.spec.terminationGracePeriodSeconds = 30;
  pod_.metadata.labels = {{"app", "web"}};  // pod labels stay on the sandbox
  auto config = build();
  EXPECT_EQ(config.labels().at(labels::kPodName), "web");
  EXPECT_EQ(config.labels().at(labels::kPodNamespace), "shop");
  EXPECT_EQ(config.labels().at(labels::kPodUid), "uid-1");
  EXPECT_EQ(config.labels().at(labels::kContainerName), "app");
  EXPECT_EQ(config.labels().at(labels::kContainerType), "regular");
  EXPECT_EQ(config.labels().at(labels::kManagedBy), "kite-kubelet");
  EXPECT_EQ(config.labels().count("app"), 0U);
  EXPECT_EQ(config.annotations().at(labels::kContainerHash), "5f1a2b");
  EXPECT_EQ(config.annotations().at(labels::kRestartCount), "3");
  EXPECT_EQ(config.annotations().at(labels::kTerminationMessagePath), "/dev/termination-log");
  EXPECT_EQ(config.annotations().at(labels::kTerminationMessagePolicy), "File");
  EXPECT_EQ(config.annotations().at(labels::kGracePeriod), "30");

  options_.isInit = true;
  corev1::ContainerPort http;
  http.name = "http";
  http.containerPort = 80;
  http.protocol = "TCP";
  app().ports = {http};
  config = build();
  EXPECT_EQ(config.labels().at(labels::kContainerType), "init");
  EXPECT_EQ(config.annotations().at(labels::kContainerPorts),
            R"([{"name":"http","containerPort":80,"protocol":"TCP"}])");
}

TEST_F(ContainerConfigTest, ResourcesComeFromRequestsLimitsAndQos) {
  app().resources.requests = {{"cpu", api::Quantity::parse("250m")},
                              {"memory", api::Quantity::parse("64Mi")}};
  app().resources.limits = {{"cpu", api::Quantity::parse("500m")},
                            {"memory", api::Quantity::parse("128Mi")}};
  options_.qos = QosClass::kBurstable;
  options_.memoryCapacity = 1024LL * 1024 * 1024;
  const auto resources = build().linux().resources();
  EXPECT_EQ(resources.cpu_shares(), 256);
  EXPECT_EQ(resources.cpu_period(), 100000);
  EXPECT_EQ(resources.cpu_quota(), 50000);
  EXPECT_EQ(resources.memory_limit_in_bytes(), 128LL * 1024 * 1024);
  EXPECT_EQ(resources.oom_score_adj(), 1000 - (1000 * 64) / 1024);
}

TEST_F(ContainerConfigTest, ContainerSecurityContextOverridesThePodsFieldByField) {
  podSc().runAsUser = 1000;
  podSc().runAsGroup = 3000;
  podSc().fsGroup = 2000;
  podSc().supplementalGroups = {4000};
  corev1::SELinuxOptions podSelinux;
  podSelinux.level = "s0:c1";
  podSc().seLinuxOptions = podSelinux;
  containerSc().runAsUser = 1001;  // the container wins; runAsGroup stays the pod's

  const auto sc = security();
  EXPECT_EQ(sc.run_as_user().value(), 1001);
  EXPECT_EQ(sc.run_as_group().value(), 3000);
  EXPECT_EQ(sc.selinux_options().level(), "s0:c1");
  EXPECT_THAT(sc.supplemental_groups(), ElementsAre(2000, 4000));
  EXPECT_EQ(sc.namespace_options().pid(), cri::v1::CONTAINER);
  EXPECT_EQ(sc.namespace_options().network(), cri::v1::POD);
}

TEST_F(ContainerConfigTest, PrivilegedCapabilitiesReadOnlyRootAndNoNewPrivs) {
  auto sc = security();
  EXPECT_FALSE(sc.privileged());
  EXPECT_FALSE(sc.readonly_rootfs());
  EXPECT_FALSE(sc.no_new_privs());  // unset allowPrivilegeEscalation allows it
  EXPECT_FALSE(sc.has_capabilities());

  corev1::Capabilities caps;
  caps.add = {"NET_ADMIN"};
  caps.drop = {"ALL"};
  containerSc().capabilities = caps;
  containerSc().readOnlyRootFilesystem = true;
  containerSc().allowPrivilegeEscalation = false;
  containerSc().privileged = true;
  sc = security();
  // As written: the runtime adds CAP_ itself.
  EXPECT_THAT(sc.capabilities().add_capabilities(), ElementsAre("NET_ADMIN"));
  EXPECT_THAT(sc.capabilities().drop_capabilities(), ElementsAre("ALL"));
  EXPECT_TRUE(sc.readonly_rootfs());
  EXPECT_TRUE(sc.no_new_privs());
  EXPECT_TRUE(sc.privileged());
}

TEST_F(ContainerConfigTest, ProcPathsAreMaskedUnlessUnmasked) {
  auto sc = security();
  EXPECT_THAT(sc.masked_paths(), ElementsAreArray(defaultMaskedPaths()));
  EXPECT_THAT(sc.readonly_paths(), ElementsAreArray(defaultReadonlyPaths()));
  EXPECT_THAT(sc.masked_paths(), ::testing::Contains("/proc/kcore"));
  containerSc().procMount = "Unmasked";
  sc = security();
  EXPECT_THAT(sc.masked_paths(), IsEmpty());
  EXPECT_THAT(sc.readonly_paths(), IsEmpty());
}

TEST_F(ContainerConfigTest, SeccompAndAppArmorProfiles) {
  EXPECT_EQ(security().seccomp().profile_type(), cri::v1::SecurityProfile::Unconfined);
  options_.seccompDefault = true;
  EXPECT_EQ(security().seccomp().profile_type(), cri::v1::SecurityProfile::RuntimeDefault);
  EXPECT_FALSE(security().has_apparmor());  // the runtime's default applies

  pod_.metadata.annotations["container.apparmor.security.beta.kubernetes.io/app"] =
      "localhost/k8s-nginx";
  auto sc = security();
  EXPECT_EQ(sc.apparmor().profile_type(), cri::v1::SecurityProfile::Localhost);
  EXPECT_EQ(sc.apparmor().localhost_ref(), "k8s-nginx");
  corev1::AppArmorProfile unconfined;
  unconfined.type = "Unconfined";
  containerSc().appArmorProfile = unconfined;  // the field wins over the annotation
  EXPECT_EQ(security().apparmor().profile_type(), cri::v1::SecurityProfile::Unconfined);
}

TEST_F(ContainerConfigTest, RunAsNonRootRefusesAnImageRunningAsRoot) {
  podSc().runAsNonRoot = true;
  options_.imageUser = ImageUser{0, ""};
  EXPECT_EQ(refusal(),
            "container has runAsNonRoot and image will run as root (pod: \"web_shop(uid-1)\", "
            "container: app)");
}

TEST_F(ContainerConfigTest, RunAsNonRootAllowsAnImageRunningAsUid1000) {
  podSc().runAsNonRoot = true;
  options_.imageUser = ImageUser{1000, ""};
  EXPECT_EQ(refusal(), "");
  EXPECT_EQ(security().run_as_user().value(), 1000);  // the image's uid, as upstream sets it
}

TEST_F(ContainerConfigTest, RunAsNonRootRefusesRunAsUserZeroAndNamedImageUsers) {
  containerSc().runAsNonRoot = true;
  options_.imageUser = ImageUser{std::nullopt, "nginx"};
  EXPECT_THAT(refusal(), HasSubstr("image has non-numeric user (nginx), cannot verify user is "
                                   "non-root"));
  containerSc().runAsUser = 0;
  EXPECT_THAT(refusal(), HasSubstr("container's runAsUser breaks non-root policy"));
  containerSc().runAsUser = 1000;
  EXPECT_EQ(refusal(), "");
  EXPECT_EQ(security().run_as_username(), "");  // runAsUser set: the image user is not used
}

TEST_F(ContainerConfigTest, ImageUserFromImageStatus) {
  cri::v1::Image image;
  EXPECT_EQ(imageUserOf(image).uid, 0);  // no USER: root
  image.set_username("nginx");
  EXPECT_FALSE(imageUserOf(image).uid.has_value());
  EXPECT_EQ(imageUserOf(image).username, "nginx");
  image.mutable_uid()->set_value(101);
  EXPECT_EQ(imageUserOf(image).uid, 101);
}

TEST_F(ContainerConfigTest, MountsGetReadOnlyAndPropagationFromTheirVolumeMounts) {
  auto data = volumeMount("data", "/data");
  data.readOnly = true;
  auto cache = volumeMount("cache", "/cache");
  cache.mountPropagation = "HostToContainer";
  auto plain = volumeMount("plain", "/plain");
  plain.mountPropagation = "None";
  app().volumeMounts = {data, cache, plain};
  options_.mounts = {hostMount("/pods/uid-1/volumes/data", "/data"),
                     hostMount("/pods/uid-1/volumes/cache", "/cache"),
                     hostMount("/pods/uid-1/volumes/plain", "/plain")};
  options_.etcHostsPath = "/pods/uid-1/etc-hosts";
  options_.terminationMessageHostPath = "/pods/uid-1/containers/app/3";

  const auto config = build();
  ASSERT_EQ(config.mounts_size(), 5);
  EXPECT_TRUE(config.mounts(0).readonly());
  EXPECT_EQ(config.mounts(0).propagation(), cri::v1::PROPAGATION_PRIVATE);
  EXPECT_FALSE(config.mounts(1).readonly());
  EXPECT_EQ(config.mounts(1).propagation(), cri::v1::PROPAGATION_HOST_TO_CONTAINER);
  EXPECT_EQ(config.mounts(2).propagation(), cri::v1::PROPAGATION_PRIVATE);
  EXPECT_EQ(config.mounts(3).host_path(), "/pods/uid-1/etc-hosts");
  EXPECT_EQ(config.mounts(3).container_path(), "/etc/hosts");
  EXPECT_EQ(config.mounts(4).host_path(), "/pods/uid-1/containers/app/3");
  EXPECT_EQ(config.mounts(4).container_path(), "/dev/termination-log");
}

TEST_F(ContainerConfigTest, BidirectionalPropagationOnlyForPrivilegedContainers) {
  auto shared = volumeMount("shared", "/shared");
  shared.mountPropagation = "Bidirectional";
  app().volumeMounts = {shared};
  options_.mounts = {hostMount("/mnt/shared", "/shared")};
  EXPECT_THAT(refusal(), HasSubstr("Bidirectional mount propagation is available only to "
                                   "privileged containers"));
  containerSc().privileged = true;
  EXPECT_EQ(build().mounts(0).propagation(), cri::v1::PROPAGATION_BIDIRECTIONAL);
}

TEST_F(ContainerConfigTest, AVolumeAtEtcHostsReplacesTheManagedOne) {
  app().volumeMounts = {volumeMount("hosts", "/etc/hosts")};
  options_.mounts = {hostMount("/srv/hosts", "/etc/hosts")};
  options_.etcHostsPath = "/pods/uid-1/etc-hosts";
  app().terminationMessagePath.clear();
  options_.terminationMessageHostPath = "/pods/uid-1/containers/app/3";  // no path: no mount
  const auto config = build();
  ASSERT_EQ(config.mounts_size(), 1);
  EXPECT_EQ(config.mounts(0).host_path(), "/srv/hosts");
}

}  // namespace
}  // namespace kite::kubelet
