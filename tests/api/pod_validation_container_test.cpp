// Container fields: ports, env and envFrom, volume mounts, resources, names, images and
// policies, each with upstream's field path, error type and wording.

#include <gtest/gtest.h>

#include "pod_validation_test_util.h"

namespace kite::api {
namespace {

using testing::hasError;
using testing::noErrors;
using testing::validate;
using testing::validPod;

TEST(PodValidationPorts, ContainerPortRange) {
  auto pod = validPod();
  pod.spec.containers[0].ports.push_back({.containerPort = 70000});
  pod.spec.containers[0].ports.push_back({.containerPort = 0});
  const auto errors = validate(pod);
  EXPECT_TRUE(hasError(errors, "spec.containers[0].ports[0].containerPort", ErrorType::Invalid,
                       "must be between 1 and 65535, inclusive"));
  EXPECT_TRUE(hasError(errors, "spec.containers[0].ports[1].containerPort", ErrorType::Required));
  EXPECT_EQ(errors[0].message(),
            "spec.containers[0].ports[0].containerPort: Invalid value: 70000: must be between 1 "
            "and 65535, inclusive");
}

TEST(PodValidationPorts, HostPortAndProtocol) {
  auto pod = validPod();
  pod.spec.containers[0].ports.push_back({.hostPort = 70000, .containerPort = 80});
  pod.spec.containers[0].ports.push_back({.containerPort = 81, .protocol = "ICMP"});
  pod.spec.containers[0].ports.push_back({.hostPort = 0, .containerPort = 82});  // no host port
  const auto errors = validate(pod);
  EXPECT_TRUE(hasError(errors, "spec.containers[0].ports[0].hostPort", ErrorType::Invalid,
                       "must be between 1 and 65535, inclusive"));
  EXPECT_TRUE(hasError(errors, "spec.containers[0].ports[1].protocol", ErrorType::NotSupported,
                       R"(supported values: "SCTP", "TCP", "UDP")"));
  EXPECT_EQ(errors.size(), 2U) << testing::describe(errors);
}

TEST(PodValidationPorts, PortNames) {
  struct Case {
    const char* name;
    const char* detail;
  };
  for (const Case& c : {Case{"a-very-long-port-name", "must be no more than 15 characters"},
                        Case{"Web", "must contain only alpha-numeric characters"},
                        Case{"8080", "must contain at least one letter (a-z)"},
                        Case{"web--x", "must not contain consecutive hyphens"},
                        Case{"-web", "must not begin or end with a hyphen"}}) {
    auto pod = validPod();
    pod.spec.containers[0].ports.push_back({.name = c.name, .containerPort = 80});
    EXPECT_TRUE(
        hasError(validate(pod), "spec.containers[0].ports[0].name", ErrorType::Invalid, c.detail))
        << c.name;
  }
  auto pod = validPod();
  pod.spec.containers[0].ports.push_back({.name = "web", .containerPort = 80});
  pod.spec.containers[0].ports.push_back({.name = "web", .containerPort = 81});
  EXPECT_TRUE(hasError(validate(pod), "spec.containers[0].ports[1].name", ErrorType::Duplicate));
}

TEST(PodValidationPorts, HostPortConflicts) {
  auto pod = validPod();
  auto second = pod.spec.containers[0];
  second.name = "sidecar";
  pod.spec.containers[0].ports.push_back({.hostPort = 8080, .containerPort = 80});
  second.ports.push_back({.hostPort = 8080, .containerPort = 81});
  second.ports.push_back({.hostPort = 8080, .containerPort = 82, .protocol = "UDP"});  // fine
  pod.spec.containers.push_back(second);
  const auto errors = validate(pod);
  EXPECT_TRUE(hasError(errors, "spec.containers[1].ports[0].hostPort", ErrorType::Duplicate));
  ASSERT_EQ(errors.size(), 1U) << testing::describe(errors);
  EXPECT_EQ(errors[0].value, "\"TCP//8080\"");
}

TEST(PodValidationPorts, HostNetworkHostPortMatchesContainerPort) {
  auto pod = validPod();
  pod.spec.hostNetwork = true;
  pod.spec.containers[0].ports.push_back({.hostPort = 8080, .containerPort = 80});
  pod.spec.containers[0].ports.push_back({.containerPort = 81});  // defaulted to 81 upstream
  const auto errors = validate(pod);
  EXPECT_TRUE(hasError(errors, "spec.containers[0].ports[0].hostPort", ErrorType::Invalid,
                       "must match `containerPort` when `hostNetwork` is true"));
  EXPECT_EQ(errors.size(), 1U) << testing::describe(errors);
}

TEST(PodValidationEnv, Names) {
  auto pod = validPod();
  auto& env = pod.spec.containers[0].env;
  env.push_back({.name = ""});
  env.push_back({.name = "1ABC"});
  env.push_back({.name = ".."});
  env.push_back({.name = "my.env-NAME_1", .value = "ok"});
  const auto errors = validate(pod);
  EXPECT_TRUE(hasError(errors, "spec.containers[0].env[0].name", ErrorType::Required));
  EXPECT_TRUE(hasError(errors, "spec.containers[0].env[1].name", ErrorType::Invalid,
                       "a valid environment variable name must consist of alphabetic "
                       "characters, digits, '_', '-', or '.', and must not start with a digit"));
  EXPECT_TRUE(
      hasError(errors, "spec.containers[0].env[2].name", ErrorType::Invalid, "must not be '..'"));
  EXPECT_EQ(errors.size(), 3U) << testing::describe(errors);
}

TEST(PodValidationEnv, ValueOrOneSource) {
  auto pod = validPod();
  auto& env = pod.spec.containers[0].env;
  core::v1::EnvVarSource cm;
  cm.configMapKeyRef = core::v1::ConfigMapKeySelector{};
  cm.configMapKeyRef->name = "conf";
  cm.configMapKeyRef->key = "k";
  env.push_back({.name = "A", .value = "x", .valueFrom = cm});
  env.push_back({.name = "B", .valueFrom = core::v1::EnvVarSource{}});
  auto two = cm;
  two.secretKeyRef = core::v1::SecretKeySelector{};
  two.secretKeyRef->name = "s";
  two.secretKeyRef->key = "k";
  env.push_back({.name = "C", .valueFrom = two});
  env.push_back({.name = "D", .valueFrom = cm});  // fine
  const auto errors = validate(pod);
  EXPECT_TRUE(hasError(errors, "spec.containers[0].env[0].valueFrom", ErrorType::Invalid,
                       "may not be specified when `value` is not empty"));
  EXPECT_TRUE(hasError(errors, "spec.containers[0].env[1].valueFrom", ErrorType::Invalid,
                       "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` "
                       "or `secretKeyRef`"));
  EXPECT_TRUE(hasError(errors, "spec.containers[0].env[2].valueFrom", ErrorType::Invalid,
                       "may not have more than one field specified at a time"));
  EXPECT_EQ(errors.size(), 3U) << testing::describe(errors);
}

core::v1::EnvVar fieldRefVar(const std::string& fieldPath) {
  core::v1::EnvVarSource s;
  s.fieldRef = core::v1::ObjectFieldSelector{.fieldPath = fieldPath};
  return {.name = "X", .valueFrom = s};
}

TEST(PodValidationEnv, FieldRef) {
  for (const char* ok : {"metadata.name", "metadata.namespace", "status.podIP", "spec.nodeName",
                         "metadata.labels['app']", "metadata.annotations['a.io/b']"}) {
    auto pod = validPod();
    pod.spec.containers[0].env.push_back(fieldRefVar(ok));
    EXPECT_TRUE(noErrors(validate(pod))) << ok;
  }
  auto pod = validPod();
  pod.spec.containers[0].env.push_back(fieldRefVar("status.phase"));
  pod.spec.containers[0].env.push_back(fieldRefVar("spec.foo"));
  pod.spec.containers[0].env.push_back(fieldRefVar(""));
  const auto errors = validate(pod);
  EXPECT_TRUE(hasError(errors, "spec.containers[0].env[0].valueFrom.fieldRef.fieldPath",
                       ErrorType::NotSupported, R"(supported values: "metadata.name")"));
  EXPECT_TRUE(hasError(errors, "spec.containers[0].env[1].valueFrom.fieldRef.fieldPath",
                       ErrorType::Invalid,
                       "error converting fieldPath: field label not supported: spec.foo"));
  EXPECT_TRUE(hasError(errors, "spec.containers[0].env[2].valueFrom.fieldRef.fieldPath",
                       ErrorType::Required));
}

TEST(PodValidationEnv, ResourceFieldRef) {
  auto pod = validPod();
  auto var = [](const std::string& resource, const char* divisor) {
    core::v1::EnvVarSource s;
    s.resourceFieldRef = core::v1::ResourceFieldSelector{.resource = resource};
    if (divisor != nullptr) s.resourceFieldRef->divisor = Quantity::parse(divisor);
    return core::v1::EnvVar{.name = "R", .valueFrom = s};
  };
  pod.spec.containers[0].env.push_back(var("limits.cpu", "1m"));        // fine
  pod.spec.containers[0].env.push_back(var("requests.memory", "1Mi"));  // fine
  pod.spec.containers[0].env.push_back(var("limits.gpu", nullptr));
  pod.spec.containers[0].env.push_back(var("limits.cpu", "1Mi"));
  pod.spec.containers[0].env.push_back(var("", nullptr));
  const auto errors = validate(pod);
  EXPECT_TRUE(hasError(errors, "spec.containers[0].env[2].valueFrom.resourceFieldRef.resource",
                       ErrorType::NotSupported, R"("limits.cpu", "limits.ephemeral-storage")"));
  EXPECT_TRUE(hasError(errors, "spec.containers[0].env[3].valueFrom.resourceFieldRef.divisor",
                       ErrorType::Invalid,
                       "only divisor's values 1m and 1 are supported with the cpu resource"));
  EXPECT_TRUE(hasError(errors, "spec.containers[0].env[4].valueFrom.resourceFieldRef.resource",
                       ErrorType::Required));
  EXPECT_EQ(errors.size(), 3U) << testing::describe(errors);
}

TEST(PodValidationEnv, KeyRefs) {
  auto pod = validPod();
  core::v1::EnvVarSource noKey;
  noKey.configMapKeyRef = core::v1::ConfigMapKeySelector{};
  noKey.configMapKeyRef->name = "conf";
  core::v1::EnvVarSource badKey;
  badKey.secretKeyRef = core::v1::SecretKeySelector{};
  badKey.secretKeyRef->name = "Secret_Name";
  badKey.secretKeyRef->key = "has space";
  pod.spec.containers[0].env.push_back({.name = "A", .valueFrom = noKey});
  pod.spec.containers[0].env.push_back({.name = "B", .valueFrom = badKey});
  const auto errors = validate(pod);
  EXPECT_TRUE(hasError(errors, "spec.containers[0].env[0].valueFrom.configMapKeyRef.key",
                       ErrorType::Required));
  EXPECT_TRUE(hasError(errors, "spec.containers[0].env[1].valueFrom.secretKeyRef.key",
                       ErrorType::Invalid,
                       "a valid config key must consist of alphanumeric characters, '-', '_' or "
                       "'.'"));
  EXPECT_TRUE(hasError(errors, "spec.containers[0].env[1].valueFrom.secretKeyRef.name",
                       ErrorType::Invalid, "a lowercase RFC 1123 subdomain"));
}

TEST(PodValidationEnv, EnvFrom) {
  auto pod = validPod();
  auto& from = pod.spec.containers[0].envFrom;
  core::v1::EnvFromSource ok;
  ok.prefix = "APP_";
  ok.configMapRef = core::v1::ConfigMapEnvSource{};
  ok.configMapRef->name = "conf";
  from.push_back(ok);
  auto badPrefix = ok;
  badPrefix.prefix = "1x";
  from.push_back(badPrefix);
  from.push_back(core::v1::EnvFromSource{});
  auto both = ok;
  both.secretRef = core::v1::SecretEnvSource{};
  both.secretRef->name = "s";
  from.push_back(both);
  auto unnamed = ok;
  unnamed.configMapRef->name.clear();
  from.push_back(unnamed);
  const auto errors = validate(pod);
  EXPECT_TRUE(hasError(errors, "spec.containers[0].envFrom[1].prefix", ErrorType::Invalid,
                       "a valid environment variable name"));
  EXPECT_TRUE(hasError(errors, "spec.containers[0].envFrom", ErrorType::Invalid,
                       "must specify one of: `configMapRef` or `secretRef`"));
  EXPECT_TRUE(hasError(errors, "spec.containers[0].envFrom", ErrorType::Invalid,
                       "may not have more than one field specified at a time"));
  EXPECT_TRUE(
      hasError(errors, "spec.containers[0].envFrom[4].configMapRef.name", ErrorType::Required));
  EXPECT_EQ(errors.size(), 4U) << testing::describe(errors);
}

TEST(PodValidationMounts, PathsAndNames) {
  auto pod = validPod();
  auto& mounts = pod.spec.containers[0].volumeMounts;
  mounts.push_back({.name = "data", .mountPath = "/data"});  // same path again
  mounts.push_back({.name = "missing", .mountPath = "/m"});
  mounts.push_back({.name = "data", .mountPath = ""});
  const auto errors = validate(pod);
  EXPECT_TRUE(hasError(errors, "spec.containers[0].volumeMounts[1].mountPath", ErrorType::Invalid,
                       "must be unique"));
  EXPECT_TRUE(hasError(errors, "spec.containers[0].volumeMounts[2].name", ErrorType::NotFound));
  EXPECT_TRUE(
      hasError(errors, "spec.containers[0].volumeMounts[3].mountPath", ErrorType::Required));
}

TEST(PodValidationMounts, SubPaths) {
  auto pod = validPod();
  auto& mounts = pod.spec.containers[0].volumeMounts;
  mounts[0].subPath = "/abs";
  mounts.push_back({.name = "data", .mountPath = "/b", .subPath = "a/../../b"});
  mounts.push_back({.name = "data", .mountPath = "/c", .subPath = "x", .subPathExpr = "$(POD)"});
  const auto errors = validate(pod);
  // Upstream names the list, not the entry, for these two path rules.
  EXPECT_TRUE(hasError(errors, "spec.containers[0].volumeMounts.subPath", ErrorType::Invalid,
                       "must be a relative path"));
  EXPECT_TRUE(hasError(errors, "spec.containers[0].volumeMounts.subPath", ErrorType::Invalid,
                       "must not contain '..'"));
  EXPECT_TRUE(hasError(errors, "spec.containers[0].volumeMounts[2].subPathExpr", ErrorType::Invalid,
                       "subPathExpr and subPath are mutually exclusive"));
}

TEST(PodValidationMounts, Propagation) {
  auto pod = validPod();
  pod.spec.containers[0].volumeMounts[0].mountPropagation = "Shared";
  EXPECT_TRUE(hasError(validate(pod), "spec.containers[0].volumeMounts.mountPropagation",
                       ErrorType::NotSupported,
                       R"(supported values: "Bidirectional", "HostToContainer", "None")"));
  pod.spec.containers[0].volumeMounts[0].mountPropagation = "Bidirectional";
  EXPECT_TRUE(hasError(validate(pod), "spec.containers[0].volumeMounts.mountPropagation",
                       ErrorType::Forbidden,
                       "Bidirectional mount propagation is available only to privileged "
                       "containers"));
  pod.spec.containers[0].securityContext.emplace();
  pod.spec.containers[0].securityContext->privileged = true;
  EXPECT_TRUE(noErrors(validate(pod)));
  pod.spec.containers[0].volumeMounts[0].mountPropagation = "HostToContainer";
  EXPECT_TRUE(noErrors(validate(pod)));
}

TEST(PodValidationMounts, RecursiveReadOnly) {
  auto pod = validPod();
  pod.spec.containers[0].volumeMounts[0].recursiveReadOnly = "Enabled";  // needs readOnly
  EXPECT_TRUE(hasError(validate(pod), "spec.containers[0].volumeMounts.recursiveReadOnly",
                       ErrorType::Forbidden, "may only be specified when readOnly is true"));
  pod.spec.containers[0].volumeMounts[0].recursiveReadOnly = "Always";
  EXPECT_TRUE(hasError(validate(pod), "spec.containers[0].volumeMounts.recursiveReadOnly",
                       ErrorType::NotSupported,
                       R"(supported values: "Disabled", "Enabled", "IfPossible")"));
  pod.spec.containers[0].volumeMounts[0].readOnly = true;
  pod.spec.containers[0].volumeMounts[0].recursiveReadOnly = "IfPossible";
  EXPECT_TRUE(noErrors(validate(pod)));
}

TEST(PodValidationEnv, HugePagesDivisorAndSecretRefName) {
  auto pod = validPod();
  core::v1::EnvVarSource s;
  s.resourceFieldRef = core::v1::ResourceFieldSelector{.resource = "limits.hugepages-2Mi",
                                                       .divisor = Quantity::parse("3")};
  pod.spec.containers[0].env.push_back({.name = "H", .valueFrom = s});
  core::v1::EnvFromSource from;
  from.secretRef = core::v1::SecretEnvSource{};
  pod.spec.containers[0].envFrom.push_back(from);
  const auto errors = validate(pod);
  EXPECT_TRUE(hasError(errors, "spec.containers[0].env[0].valueFrom.resourceFieldRef.divisor",
                       ErrorType::Invalid, "supported with the hugepages resource"));
  EXPECT_TRUE(
      hasError(errors, "spec.containers[0].envFrom[0].secretRef.name", ErrorType::Required));
}

TEST(PodValidationResources, RequestsWithinLimits) {
  auto pod = validPod();
  auto& r = pod.spec.containers[0].resources;
  r.limits["cpu"] = Quantity::parse("500m");
  r.requests["cpu"] = Quantity::parse("1");
  r.limits["memory"] = Quantity::parse("-1Gi");
  const auto errors = validate(pod);
  EXPECT_TRUE(hasError(errors, "spec.containers[0].resources.requests", ErrorType::Invalid,
                       "must be less than or equal to cpu limit of 500m"));
  EXPECT_TRUE(hasError(errors, "spec.containers[0].resources.limits[memory]", ErrorType::Invalid,
                       "must be greater than or equal to 0"));
  for (const auto& e : errors) {
    if (e.field == "spec.containers[0].resources.requests") {
      EXPECT_EQ(e.message(),
                "spec.containers[0].resources.requests: Invalid value: \"1\": must be less "
                "than or equal to cpu limit of 500m");
    }
  }
}

TEST(PodValidationResources, NamesAndWholeUnits) {
  auto pod = validPod();
  auto& r = pod.spec.containers[0].resources;
  r.limits["gpu"] = Quantity::parse("1");
  r.requests["example.com/dongle"] = Quantity::parse("1");  // no limit: cannot overcommit
  r.limits["hugepages-2Mi"] = Quantity::parse("4Mi");
  r.requests["hugepages-2Mi"] = Quantity::parse("2Mi");
  r.limits["example.com/fpga"] = Quantity::parse("500m");
  r.requests["example.com/fpga"] = Quantity::parse("500m");
  const auto errors = validate(pod);
  EXPECT_TRUE(hasError(errors, "spec.containers[0].resources.limits[gpu]", ErrorType::Invalid,
                       "must be a standard resource for containers"));
  EXPECT_TRUE(hasError(errors, "spec.containers[0].resources.limits", ErrorType::Required,
                       "Limit must be set for non overcommitable resources"));
  EXPECT_TRUE(hasError(errors, "spec.containers[0].resources.requests", ErrorType::Invalid,
                       "must be equal to hugepages-2Mi limit of 4Mi"));
  EXPECT_TRUE(hasError(errors, "spec.containers[0].resources.limits[example.com/fpga]",
                       ErrorType::Invalid, "must be an integer"));
}

TEST(PodValidationContainers, NamesImagesAndPolicies) {
  auto pod = validPod();
  auto second = pod.spec.containers[0];
  second.image.clear();
  second.imagePullPolicy = "Sometimes";
  second.terminationMessagePolicy = "Bogus";
  pod.spec.containers.push_back(second);  // same name "app"
  auto third = pod.spec.containers[0];
  third.name = "Bad_Name";
  pod.spec.containers.push_back(third);
  const auto errors = validate(pod);
  EXPECT_TRUE(hasError(errors, "spec.containers[1].name", ErrorType::Duplicate));
  EXPECT_TRUE(hasError(errors, "spec.containers[1].image", ErrorType::Required));
  EXPECT_TRUE(hasError(errors, "spec.containers[1].imagePullPolicy", ErrorType::NotSupported,
                       R"(supported values: "Always", "IfNotPresent", "Never")"));
  EXPECT_TRUE(hasError(errors, "spec.containers[1].terminationMessagePolicy",
                       ErrorType::NotSupported,
                       R"(supported values: "File", "FallbackToLogsOnError")"));
  EXPECT_TRUE(hasError(errors, "spec.containers[2].name", ErrorType::Invalid,
                       "a lowercase RFC 1123 label must consist of lower case alphanumeric "
                       "characters or '-', and must start and end with an alphanumeric "
                       "character (e.g. 'my-name',  or '123-abc', regex used for validation is "
                       "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')"));
}

TEST(PodValidationContainers, InitContainerNamesShareTheNamespace) {
  auto pod = validPod();
  core::v1::Container init;
  init.name = "app";  // the regular container's name
  init.image = "busybox:1.36";
  pod.spec.initContainers.push_back(init);
  EXPECT_TRUE(hasError(validate(pod), "spec.initContainers[0].name", ErrorType::Duplicate));
}

TEST(PodValidationContainers, SecurityContextIds) {
  auto pod = validPod();
  pod.spec.securityContext.emplace();
  pod.spec.securityContext->runAsUser = -1;
  pod.spec.securityContext->supplementalGroups = {5, -2};
  pod.spec.containers[0].securityContext.emplace();
  pod.spec.containers[0].securityContext->runAsGroup = int64_t{1} << 40;
  const auto errors = validate(pod);
  EXPECT_TRUE(hasError(errors, "spec.securityContext.runAsUser", ErrorType::Invalid,
                       "must be between 0 and 2147483647, inclusive"));
  EXPECT_TRUE(hasError(errors, "spec.securityContext.supplementalGroups[1]", ErrorType::Invalid,
                       "must be between 0 and 2147483647, inclusive"));
  EXPECT_TRUE(hasError(errors, "spec.containers[0].securityContext.runAsGroup", ErrorType::Invalid,
                       "must be between 0 and 2147483647, inclusive"));
}

}  // namespace
}  // namespace kite::api
