// Volumes, spec-wide rules (policies, DNS, deadlines), pod templates, and how the errors
// render as the Status kubectl prints.

#include <gtest/gtest.h>

#include "kite/api/json.h"
#include "pod_validation_test_util.h"

namespace kite::api {
namespace {

using testing::hasError;
using testing::noErrors;
using testing::validate;
using testing::validPod;

core::v1::Pod withVolume(const core::v1::Volume& v) {
  auto pod = validPod();
  pod.spec.volumes.push_back(v);
  return pod;
}

core::v1::Volume volume(const std::string& name) {
  core::v1::Volume v;
  v.name = name;
  return v;
}

TEST(PodValidationVolumes, Names) {
  auto bad = volume("Data_1");
  bad.emptyDir.emplace();
  auto unnamed = volume("");
  unnamed.emptyDir.emplace();
  auto dup = volume("data");
  dup.emptyDir.emplace();
  auto pod = withVolume(bad);
  pod.spec.volumes.push_back(unnamed);
  pod.spec.volumes.push_back(dup);
  const auto errors = validate(pod);
  EXPECT_TRUE(
      hasError(errors, "spec.volumes[1].name", ErrorType::Invalid, "a lowercase RFC 1123 label"));
  EXPECT_TRUE(hasError(errors, "spec.volumes[2].name", ErrorType::Required));
  EXPECT_TRUE(hasError(errors, "spec.volumes[3].name", ErrorType::Duplicate));
}

TEST(PodValidationVolumes, ExactlyOneSource) {
  auto none = volume("none");
  auto two = volume("two");
  two.emptyDir.emplace();
  two.hostPath = core::v1::HostPathVolumeSource{.path = "/srv"};
  two.configMap.emplace();
  two.configMap->name = "conf";
  auto pod = withVolume(none);
  pod.spec.volumes.push_back(two);
  const auto errors = validate(pod);
  EXPECT_TRUE(
      hasError(errors, "spec.volumes[1]", ErrorType::Required, "must specify a volume type"));
  EXPECT_TRUE(hasError(errors, "spec.volumes[2].hostPath", ErrorType::Forbidden,
                       "may not specify more than 1 volume type"));
  EXPECT_TRUE(hasError(errors, "spec.volumes[2].configMap", ErrorType::Forbidden,
                       "may not specify more than 1 volume type"));
}

TEST(PodValidationVolumes, AMountOfAnInvalidVolumeIsNotFound) {
  auto none = volume("none");
  auto pod = withVolume(none);
  pod.spec.containers[0].volumeMounts.push_back({.name = "none", .mountPath = "/none"});
  EXPECT_TRUE(
      hasError(validate(pod), "spec.containers[0].volumeMounts[1].name", ErrorType::NotFound));
}

TEST(PodValidationVolumes, EmptyDirMedium) {
  auto v = volume("scratch");
  // Upstream does not validate the medium (the kubelet refuses an unknown one at mount time).
  v.emptyDir = core::v1::EmptyDirVolumeSource{.medium = "Disk"};
  EXPECT_TRUE(noErrors(validate(withVolume(v))));
  v.emptyDir->medium = "Memory";
  EXPECT_TRUE(noErrors(validate(withVolume(v))));
  v.emptyDir->sizeLimit = Quantity::parse("-1Mi");
  EXPECT_TRUE(hasError(validate(withVolume(v)), "spec.volumes[1].emptyDir.sizeLimit",
                       ErrorType::Forbidden));
}

TEST(PodValidationVolumes, HostPath) {
  auto v = volume("host");
  v.hostPath = core::v1::HostPathVolumeSource{.path = "/srv/../etc", .type = "Dir"};
  const auto errors = validate(withVolume(v));
  EXPECT_TRUE(hasError(errors, "spec.volumes[1].hostPath.path", ErrorType::Invalid,
                       "must not contain '..'"));
  EXPECT_TRUE(hasError(errors, "spec.volumes[1].hostPath.type", ErrorType::NotSupported,
                       R"(supported values: "", "BlockDevice", "CharDevice", "Directory", )"
                       R"("DirectoryOrCreate", "File", "FileOrCreate", "Socket")"));
  v.hostPath = core::v1::HostPathVolumeSource{.path = ""};
  EXPECT_TRUE(
      hasError(validate(withVolume(v)), "spec.volumes[1].hostPath.path", ErrorType::Required));
  // Upstream asks for no absolute path, only for one without "..".
  v.hostPath = core::v1::HostPathVolumeSource{.path = "relative/dir"};
  EXPECT_TRUE(noErrors(validate(withVolume(v))));
}

TEST(PodValidationVolumes, ConfigMapAndSecretItems) {
  auto v = volume("conf");
  v.configMap.emplace();
  v.configMap->name = "conf";
  v.configMap->defaultMode = 01000;
  v.configMap->items = {{.key = "", .path = "a"},
                        {.key = "k", .path = "/abs"},
                        {.key = "k", .path = "a/../../b"},
                        {.key = "k", .path = "..data"},
                        {.key = "k", .path = "ok", .mode = -1}};
  auto errors = validate(withVolume(v));
  EXPECT_TRUE(hasError(errors, "spec.volumes[1].configMap.defaultMode", ErrorType::Invalid,
                       "must be a number between 0 and 0777 (octal), both inclusive"));
  EXPECT_TRUE(hasError(errors, "spec.volumes[1].configMap.items[0].key", ErrorType::Required));
  EXPECT_TRUE(hasError(errors, "spec.volumes[1].configMap.items[1].path", ErrorType::Invalid,
                       "must be a relative path"));
  EXPECT_TRUE(hasError(errors, "spec.volumes[1].configMap.items[2].path", ErrorType::Invalid,
                       "must not contain '..'"));
  EXPECT_TRUE(hasError(errors, "spec.volumes[1].configMap.items[3].path", ErrorType::Invalid,
                       "must not start with '..'"));
  EXPECT_TRUE(hasError(errors, "spec.volumes[1].configMap.items[4].mode", ErrorType::Invalid,
                       "must be a number between 0 and 0777 (octal), both inclusive"));
  EXPECT_EQ(errors.size(), 6U) << testing::describe(errors);

  auto s = volume("secret");
  s.secret.emplace();
  s.secret->items = {{.key = "k", .path = ""}};
  errors = validate(withVolume(s));
  EXPECT_TRUE(hasError(errors, "spec.volumes[1].secret.secretName", ErrorType::Required));
  EXPECT_TRUE(hasError(errors, "spec.volumes[1].secret.items[0].path", ErrorType::Required));
}

TEST(PodValidationVolumes, Projected) {
  auto v = volume("all");
  v.projected.emplace();
  core::v1::VolumeProjection cm;
  cm.configMap.emplace();
  cm.configMap->name = "conf";
  cm.configMap->items = {{.key = "a", .path = "same"}};
  core::v1::VolumeProjection secret;
  secret.secret.emplace();
  secret.secret->name = "creds";
  secret.secret->items = {{.key = "b", .path = "same"}};
  auto both = cm;
  both.secret = secret.secret;
  both.configMap->items.clear();
  both.secret->items.clear();
  v.projected->sources = {cm, secret, both};
  const auto errors = validate(withVolume(v));
  EXPECT_TRUE(hasError(errors, "spec.volumes[1].projected", ErrorType::Invalid,
                       "conflicting duplicate paths"));
  EXPECT_TRUE(hasError(errors, "spec.volumes[1].projected.sources[2]", ErrorType::Forbidden,
                       "may not specify more than 1 volume type per source"));
}

TEST(PodValidationVolumes, DownwardAPI) {
  auto v = volume("info");
  v.downwardAPI.emplace();
  core::v1::DownwardAPIVolumeFile neither{.path = "nothing"};
  core::v1::DownwardAPIVolumeFile node{.path = "node"};
  node.fieldRef = core::v1::ObjectFieldSelector{.fieldPath = "spec.nodeName"};
  core::v1::DownwardAPIVolumeFile cpu{.path = "cpu"};
  cpu.resourceFieldRef = core::v1::ResourceFieldSelector{.resource = "limits.cpu"};
  core::v1::DownwardAPIVolumeFile labels{.path = "labels"};
  labels.fieldRef = core::v1::ObjectFieldSelector{.fieldPath = "metadata.labels"};  // fine
  v.downwardAPI->items = {neither, node, cpu, labels};
  const auto errors = validate(withVolume(v));
  // Upstream reports items at the source, without their index.
  EXPECT_TRUE(hasError(errors, "spec.volumes[1].downwardAPI", ErrorType::Required,
                       "one of fieldRef and resourceFieldRef is required"));
  EXPECT_TRUE(hasError(errors, "spec.volumes[1].downwardAPI.fieldRef.fieldPath",
                       ErrorType::NotSupported, R"("metadata.annotations", "metadata.labels")"));
  EXPECT_TRUE(hasError(errors, "spec.volumes[1].downwardAPI.resourceFieldRef.containerName",
                       ErrorType::Required));
  EXPECT_EQ(errors.size(), 3U) << testing::describe(errors);
}

TEST(PodValidationVolumes, ClaimsAndNfs) {
  auto claim = volume("claim");
  claim.persistentVolumeClaim.emplace();
  auto nfs = volume("nfs");
  nfs.nfs = core::v1::NFSVolumeSource{.server = "", .path = "export"};
  auto pod = withVolume(claim);
  pod.spec.volumes.push_back(nfs);
  const auto errors = validate(pod);
  EXPECT_TRUE(
      hasError(errors, "spec.volumes[1].persistentVolumeClaim.claimName", ErrorType::Required));
  EXPECT_TRUE(hasError(errors, "spec.volumes[2].nfs.server", ErrorType::Required));
  EXPECT_TRUE(
      hasError(errors, "spec.volumes[2].nfs.path", ErrorType::Invalid, "must be an absolute path"));
}

TEST(PodValidationVolumes, CsiEphemeralAndTokens) {
  auto csi = volume("csi");
  csi.csi = core::v1::CSIVolumeSource{.driver = ""};
  auto eph = volume("eph");
  eph.ephemeral.emplace();
  auto token = volume("token");
  token.projected.emplace();
  core::v1::VolumeProjection sat;
  sat.serviceAccountToken = core::v1::ServiceAccountTokenProjection{.expirationSeconds = 60};
  token.projected->sources = {sat};
  auto pod = withVolume(csi);
  pod.spec.volumes.push_back(eph);
  pod.spec.volumes.push_back(token);
  const auto errors = validate(pod);
  EXPECT_TRUE(hasError(errors, "spec.volumes[1].csi.driver", ErrorType::Required));
  EXPECT_TRUE(
      hasError(errors, "spec.volumes[2].ephemeral.volumeClaimTemplate", ErrorType::Required));
  EXPECT_TRUE(hasError(errors,
                       "spec.volumes[3].projected.sources[0].serviceAccountToken."
                       "expirationSeconds",
                       ErrorType::Invalid, "may not specify a duration less than 10 minutes"));
  // Upstream names the projected volume's path for a token without one.
  EXPECT_TRUE(hasError(errors, "spec.volumes[3].projected.path", ErrorType::Required));
}

TEST(PodValidationSpec, NamesOfOtherObjects) {
  auto pod = validPod();
  pod.spec.serviceAccountName = "Bad_SA";
  pod.spec.nodeName = "node_1";
  pod.spec.subdomain = "-sub";
  const auto errors = validate(pod);
  EXPECT_TRUE(hasError(errors, "spec.serviceAccountName", ErrorType::Invalid,
                       "a lowercase RFC 1123 subdomain"));
  EXPECT_TRUE(
      hasError(errors, "spec.nodeName", ErrorType::Invalid, "a lowercase RFC 1123 subdomain"));
  EXPECT_TRUE(hasError(errors, "spec.subdomain", ErrorType::Invalid, "a lowercase RFC 1123 label"));
}

TEST(PodValidationSpec, DnsOptionsAndFsGroup) {
  auto pod = validPod();
  pod.spec.dnsConfig.emplace();
  pod.spec.dnsConfig->options.push_back({});
  pod.spec.securityContext.emplace();
  pod.spec.securityContext->fsGroup = -5;
  const auto errors = validate(pod);
  EXPECT_TRUE(
      hasError(errors, "spec.dnsConfig.options[0]", ErrorType::Required, "must not be empty"));
  EXPECT_TRUE(hasError(errors, "spec.securityContext.fsGroup", ErrorType::Invalid,
                       "must be between 0 and 2147483647, inclusive"));
}

TEST(PodValidationSpec, Policies) {
  auto pod = validPod();
  pod.spec.restartPolicy = "Sometimes";
  pod.spec.dnsPolicy = "Bogus";
  const auto errors = validate(pod);
  EXPECT_TRUE(hasError(errors, "spec.restartPolicy", ErrorType::NotSupported,
                       R"(supported values: "Always", "OnFailure", "Never")"));
  EXPECT_TRUE(hasError(errors, "spec.dnsPolicy", ErrorType::NotSupported,
                       R"(supported values: "ClusterFirstWithHostNet", "ClusterFirst", )"
                       R"("Default", "None")"));
}

TEST(PodValidationSpec, DnsNoneNeedsConfig) {
  auto pod = validPod();
  pod.spec.dnsPolicy = "None";
  EXPECT_TRUE(hasError(validate(pod), "spec.dnsConfig", ErrorType::Required,
                       "must provide `dnsConfig` when `dnsPolicy` is None"));
  pod.spec.dnsConfig.emplace();
  EXPECT_TRUE(hasError(validate(pod), "spec.dnsConfig.nameservers", ErrorType::Required,
                       "must provide at least one DNS nameserver when `dnsPolicy` is None"));
  pod.spec.dnsConfig->nameservers = {"10.0.0.10", "not-an-ip"};
  pod.spec.dnsConfig->searches = {"svc.cluster.local.", "Bad_Domain"};
  auto errors = validate(pod);
  EXPECT_TRUE(hasError(errors, "spec.dnsConfig.nameservers[1]", ErrorType::Invalid,
                       "must be a valid IP address"));
  EXPECT_TRUE(hasError(errors, "spec.dnsConfig.searches[1]", ErrorType::Invalid,
                       "a lowercase RFC 1123 subdomain"));
  EXPECT_EQ(errors.size(), 2U) << testing::describe(errors);
  pod.spec.dnsConfig->nameservers = {"1.1.1.1", "8.8.8.8", "9.9.9.9", "::1"};
  EXPECT_TRUE(hasError(validate(pod), "spec.dnsConfig.nameservers", ErrorType::Invalid,
                       "must not have more than 3 nameservers"));
}

TEST(PodValidationSpec, GracePeriodAndDeadline) {
  auto pod = validPod();
  pod.spec.terminationGracePeriodSeconds = -1;
  pod.spec.activeDeadlineSeconds = 0;
  const auto errors = validate(pod);
  // Upstream accepts a negative grace period (a delete treats it as 1): the deadline is the
  // only error.
  ASSERT_EQ(errors.size(), 1U) << testing::describe(errors);
  EXPECT_TRUE(hasError(errors, "spec.activeDeadlineSeconds", ErrorType::Invalid,
                       "must be between 1 and 2147483647, inclusive"));
  pod.spec.activeDeadlineSeconds = 60;
  pod.spec.terminationGracePeriodSeconds = 0;
  EXPECT_TRUE(noErrors(validate(pod)));
}

TEST(PodValidationSpec, ContainersRequiredAndNames) {
  auto pod = validPod();
  pod.spec.containers.clear();
  pod.spec.hostname = "Web_1";
  EXPECT_TRUE(hasError(validate(pod), "spec.containers", ErrorType::Required));
  EXPECT_TRUE(
      hasError(validate(pod), "spec.hostname", ErrorType::Invalid, "a lowercase RFC 1123 label"));
}

TEST(PodValidationSpec, WithoutDefaultsRequiredFieldsAreNamed) {
  auto pod = validPod();  // not defaulted: the policies are empty
  const auto errors = validatePodSpec(pod.spec, "spec");
  EXPECT_TRUE(hasError(errors, "spec.terminationGracePeriodSeconds", ErrorType::Required));
  EXPECT_TRUE(hasError(errors, "spec.restartPolicy", ErrorType::Required));
  EXPECT_TRUE(hasError(errors, "spec.dnsPolicy", ErrorType::Required));
  EXPECT_TRUE(hasError(errors, "spec.containers[0].imagePullPolicy", ErrorType::Required));
  EXPECT_TRUE(hasError(errors, "spec.containers[0].terminationMessagePolicy", ErrorType::Required));
}

TEST(PodValidationTemplates, FieldsUnderTheTemplatePrefix) {
  auto pod = validPod();
  pod.spec.containers[0].ports.push_back({.containerPort = 70000});
  applyPodDefaults(pod);
  core::v1::PodTemplateSpec tmpl;
  tmpl.spec = pod.spec;
  EXPECT_TRUE(hasError(validatePodTemplateSpec(tmpl, "spec.template"),
                       "spec.template.spec.containers[0].ports[0].containerPort",
                       ErrorType::Invalid, "must be between 1 and 65535, inclusive"));
  EXPECT_TRUE(hasError(validatePodSpec(tmpl.spec, "spec.jobTemplate.spec.template.spec"),
                       "spec.jobTemplate.spec.template.spec.containers[0].ports[0]."
                       "containerPort",
                       ErrorType::Invalid));
  tmpl.spec.ephemeralContainers.emplace_back();
  EXPECT_TRUE(hasError(validatePodTemplateSpec(tmpl, "spec.template"),
                       "spec.template.spec.ephemeralContainers", ErrorType::Forbidden,
                       "ephemeral containers not allowed in pod template"));
}

TEST(PodValidationTemplates, ReplicatedPodsRestartForever) {
  auto pod = validPod();
  pod.spec.restartPolicy = "Never";
  pod.spec.activeDeadlineSeconds = 30;
  applyPodDefaults(pod);
  core::v1::PodTemplateSpec tmpl;
  tmpl.spec = pod.spec;
  auto errors = validateReplicatedPodTemplate(tmpl, "spec.template", ReplicatedOwner::ReplicaSet);
  EXPECT_TRUE(hasError(errors, "spec.template.spec.restartPolicy", ErrorType::NotSupported,
                       R"(supported values: "Always")"));
  EXPECT_TRUE(hasError(errors, "spec.template.spec.activeDeadlineSeconds", ErrorType::Forbidden,
                       "activeDeadlineSeconds in ReplicaSet is not Supported"));
  errors = validateReplicatedPodTemplate(tmpl, "spec.template", ReplicatedOwner::StatefulSet);
  EXPECT_TRUE(hasError(errors, "spec.template.spec.activeDeadlineSeconds", ErrorType::Forbidden,
                       "activeDeadlineSeconds in StatefulSet is not Supported"));
  errors = validateReplicatedPodTemplate(tmpl, "spec.template", ReplicatedOwner::DaemonSet);
  EXPECT_TRUE(hasError(errors, "spec.template.spec.activeDeadlineSeconds", ErrorType::Forbidden,
                       "activeDeadlineSeconds in DaemonSet is not Supported"));
}

TEST(PodValidationStatus, RendersAsKubectlPrintsIt) {
  auto pod = decodeYaml<core::v1::Pod>(R"(
apiVersion: v1
kind: Pod
metadata:
  name: x
spec:
  containers:
  - name: web
    image: nginx:1.25
    ports:
    - containerPort: 70000
)",
                                       {.strict = true});
  applyPodDefaults(pod);
  try {
    validatePod(pod);
    FAIL() << "no error";
  } catch (const FieldErrors& e) {
    const auto status = e.toStatus("Pod", "x");
    EXPECT_EQ(status.reason, "Invalid");
    EXPECT_EQ(status.code, 422);
    EXPECT_EQ(status.message,
              "Pod \"x\" is invalid: spec.containers[0].ports[0].containerPort: Invalid value: "
              "70000: must be between 1 and 65535, inclusive");
    ASSERT_TRUE(status.details.has_value());
    ASSERT_EQ(status.details->causes.size(), 1U);
    EXPECT_EQ(status.details->causes[0].reason, "FieldValueInvalid");
    EXPECT_EQ(status.details->causes[0].field, "spec.containers[0].ports[0].containerPort");
  }
}

TEST(PodValidationStatus, ValidatePodNeedsAName) {
  auto pod = validPod();
  pod.metadata.name.clear();
  applyPodDefaults(pod);
  try {
    validatePod(pod);
    FAIL() << "no error";
  } catch (const FieldErrors& e) {
    EXPECT_TRUE(hasError(e.errors(), "metadata.name", ErrorType::Required));
  }
}

}  // namespace
}  // namespace kite::api
