// Probes, lifecycle handlers and init containers: field paths, error types and upstream's
// wording for each rule.

#include <gtest/gtest.h>

#include "pod_validation_test_util.h"

namespace kite::api {
namespace {

using testing::hasError;
using testing::noErrors;
using testing::validate;
using testing::validPod;

core::v1::Probe execProbe() {
  core::v1::Probe p;
  p.exec = core::v1::ExecAction{.command = {"true"}};
  return p;
}

TEST(PodValidationProbes, ValidProbesPass) {
  auto pod = validPod();
  auto& c = pod.spec.containers[0];
  c.livenessProbe = execProbe();
  c.readinessProbe.emplace();
  c.readinessProbe->httpGet = core::v1::HTTPGetAction{.path = "/healthz", .port = 8080};
  c.readinessProbe->successThreshold = 3;
  c.startupProbe.emplace();
  c.startupProbe->tcpSocket = core::v1::TCPSocketAction{.port = std::string("http")};
  c.ports.push_back({.name = "http", .containerPort = 8080});
  EXPECT_TRUE(noErrors(validate(pod)));
}

TEST(PodValidationProbes, HandlerRequired) {
  auto pod = validPod();
  pod.spec.containers[0].livenessProbe.emplace();
  EXPECT_TRUE(hasError(validate(pod), "spec.containers[0].livenessProbe", ErrorType::Required,
                       "must specify a handler type"));
}

TEST(PodValidationProbes, OnlyOneHandler) {
  auto pod = validPod();
  auto probe = execProbe();
  probe.httpGet = core::v1::HTTPGetAction{.path = "/", .port = 80};
  probe.grpc = core::v1::GRPCAction{.port = 9000};
  pod.spec.containers[0].readinessProbe = probe;
  const auto errors = validate(pod);
  EXPECT_TRUE(hasError(errors, "spec.containers[0].readinessProbe.httpGet", ErrorType::Forbidden,
                       "may not specify more than 1 handler type"));
  EXPECT_TRUE(hasError(errors, "spec.containers[0].readinessProbe.grpc", ErrorType::Forbidden,
                       "may not specify more than 1 handler type"));
}

TEST(PodValidationProbes, ExecNeedsCommand) {
  auto pod = validPod();
  pod.spec.containers[0].livenessProbe.emplace();
  pod.spec.containers[0].livenessProbe->exec.emplace();
  EXPECT_TRUE(hasError(validate(pod), "spec.containers[0].livenessProbe.exec.command",
                       ErrorType::Required));
}

TEST(PodValidationProbes, NegativeTimingsRefused) {
  for (const char* field : {"initialDelaySeconds", "timeoutSeconds", "periodSeconds",
                            "successThreshold", "failureThreshold"}) {
    auto pod = validPod();
    auto probe = execProbe();
    const std::string name(field);
    if (name == "initialDelaySeconds") probe.initialDelaySeconds = -1;
    if (name == "timeoutSeconds") probe.timeoutSeconds = -1;
    if (name == "periodSeconds") probe.periodSeconds = -1;
    if (name == "successThreshold") probe.successThreshold = -1;
    if (name == "failureThreshold") probe.failureThreshold = -1;
    pod.spec.containers[0].readinessProbe = probe;
    EXPECT_TRUE(hasError(validate(pod), "spec.containers[0].readinessProbe." + name,
                         ErrorType::Invalid, "must be greater than or equal to 0"))
        << field;
  }
}

TEST(PodValidationProbes, ZeroTimingsAreDefaulted) {
  auto pod = validPod();
  pod.spec.containers[0].livenessProbe = execProbe();  // all counts 0 until defaulting
  EXPECT_TRUE(noErrors(validate(pod)));
}

TEST(PodValidationProbes, LivenessAndStartupSucceedOnce) {
  auto pod = validPod();
  auto probe = execProbe();
  probe.successThreshold = 2;
  pod.spec.containers[0].livenessProbe = probe;
  pod.spec.containers[0].startupProbe = probe;
  pod.spec.containers[0].readinessProbe = probe;  // readiness may want several
  const auto errors = validate(pod);
  EXPECT_TRUE(hasError(errors, "spec.containers[0].livenessProbe.successThreshold",
                       ErrorType::Invalid, "must be 1"));
  EXPECT_TRUE(hasError(errors, "spec.containers[0].startupProbe.successThreshold",
                       ErrorType::Invalid, "must be 1"));
  EXPECT_EQ(errors.size(), 2U) << testing::describe(errors);
  EXPECT_EQ(errors[0].message(),
            "spec.containers[0].livenessProbe.successThreshold: Invalid value: 2: must be 1");
}

TEST(PodValidationProbes, ReadinessHasNoGracePeriod) {
  auto pod = validPod();
  auto probe = execProbe();
  probe.terminationGracePeriodSeconds = 5;
  pod.spec.containers[0].readinessProbe = probe;
  EXPECT_TRUE(hasError(validate(pod),
                       "spec.containers[0].readinessProbe.terminationGracePeriodSeconds",
                       ErrorType::Invalid, "must not be set for readinessProbes"));
  probe.terminationGracePeriodSeconds = 0;
  pod.spec.containers[0].readinessProbe.reset();
  pod.spec.containers[0].livenessProbe = probe;
  EXPECT_TRUE(hasError(validate(pod),
                       "spec.containers[0].livenessProbe.terminationGracePeriodSeconds",
                       ErrorType::Invalid, "must be greater than 0"));
}

TEST(PodValidationProbes, HttpGetPortNumberOrName) {
  auto pod = validPod();
  core::v1::Probe probe;
  probe.httpGet = core::v1::HTTPGetAction{.path = "/", .port = 70000};
  pod.spec.containers[0].livenessProbe = probe;
  auto errors = validate(pod);
  EXPECT_TRUE(hasError(errors, "spec.containers[0].livenessProbe.httpGet.port", ErrorType::Invalid,
                       "must be between 1 and 65535, inclusive"));
  EXPECT_EQ(errors[0].value, "70000");

  pod.spec.containers[0].livenessProbe->httpGet->port = std::string("8080");
  EXPECT_TRUE(hasError(validate(pod), "spec.containers[0].livenessProbe.httpGet.port",
                       ErrorType::Invalid, "must contain at least one letter (a-z)"));
  pod.spec.containers[0].livenessProbe->httpGet->port = std::string("Metrics");
  EXPECT_TRUE(hasError(validate(pod), "spec.containers[0].livenessProbe.httpGet.port",
                       ErrorType::Invalid,
                       "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)"));
  pod.spec.containers[0].livenessProbe->httpGet->port = std::string("metrics");
  EXPECT_TRUE(noErrors(validate(pod)));
}

TEST(PodValidationProbes, HttpGetSchemeAndHeaders) {
  auto pod = validPod();
  core::v1::Probe probe;
  probe.httpGet = core::v1::HTTPGetAction{.path = "/", .port = 80, .scheme = "FTP"};
  probe.httpGet->httpHeaders.push_back({.name = "Bad Header", .value = "x"});
  pod.spec.containers[0].livenessProbe = probe;
  const auto errors = validate(pod);
  EXPECT_TRUE(hasError(errors, "spec.containers[0].livenessProbe.httpGet.scheme",
                       ErrorType::NotSupported, R"(supported values: "HTTP", "HTTPS")"));
  EXPECT_TRUE(hasError(errors, "spec.containers[0].livenessProbe.httpGet.httpHeaders",
                       ErrorType::Invalid, "a valid HTTP header must consist of alphanumeric"));
}

TEST(PodValidationProbes, TcpSocketAndGrpcPorts) {
  auto pod = validPod();
  core::v1::Probe tcp;
  tcp.tcpSocket = core::v1::TCPSocketAction{.port = std::string("a--b")};
  core::v1::Probe grpc;
  grpc.grpc = core::v1::GRPCAction{.port = 0};
  pod.spec.containers[0].livenessProbe = tcp;
  pod.spec.containers[0].readinessProbe = grpc;
  const auto errors = validate(pod);
  EXPECT_TRUE(hasError(errors, "spec.containers[0].livenessProbe.tcpSocket.port",
                       ErrorType::Invalid, "must not contain consecutive hyphens"));
  EXPECT_TRUE(hasError(errors, "spec.containers[0].readinessProbe.grpc.port", ErrorType::Invalid,
                       "must be between 1 and 65535, inclusive"));
}

TEST(PodValidationProbes, LifecycleHandlers) {
  auto pod = validPod();
  pod.spec.terminationGracePeriodSeconds = 30;
  auto& c = pod.spec.containers[0];
  c.lifecycle.emplace();
  c.lifecycle->postStart.emplace();
  c.lifecycle->preStop.emplace();
  c.lifecycle->preStop->sleep = core::v1::SleepAction{.seconds = 60};
  const auto errors = validate(pod);
  EXPECT_TRUE(hasError(errors, "spec.containers[0].lifecycle.postStart", ErrorType::Required,
                       "must specify a handler type"));
  EXPECT_TRUE(hasError(errors, "spec.containers[0].lifecycle.preStop.sleep", ErrorType::Invalid,
                       "less than terminationGracePeriodSeconds (30)"));
}

TEST(PodValidationProbes, InitContainersWithoutRestartHaveNoProbes) {
  auto pod = validPod();
  core::v1::Container init;
  init.name = "setup";
  init.image = "busybox:1.36";
  init.livenessProbe = execProbe();
  init.readinessProbe = execProbe();
  init.startupProbe = execProbe();
  init.lifecycle.emplace();
  pod.spec.initContainers.push_back(init);
  const auto errors = validate(pod);
  for (const char* field : {"livenessProbe", "readinessProbe", "startupProbe", "lifecycle"}) {
    EXPECT_TRUE(hasError(errors, std::string("spec.initContainers[0].") + field,
                         ErrorType::Forbidden,
                         "may not be set for init containers without restartPolicy=Always"));
  }
}

TEST(PodValidationProbes, SidecarsMayHaveProbes) {
  auto pod = validPod();
  core::v1::Container sidecar;
  sidecar.name = "proxy";
  sidecar.image = "envoy:1.30";
  sidecar.restartPolicy = "Always";
  sidecar.readinessProbe = execProbe();
  pod.spec.initContainers.push_back(sidecar);
  EXPECT_TRUE(noErrors(validate(pod)));
  pod.spec.initContainers[0].livenessProbe.emplace();  // still checked like any probe
  EXPECT_TRUE(hasError(validate(pod), "spec.initContainers[0].livenessProbe", ErrorType::Required,
                       "must specify a handler type"));
}

TEST(PodValidationProbes, ContainerRestartPolicy) {
  auto pod = validPod();
  core::v1::Container init;
  init.name = "setup";
  init.image = "busybox:1.36";
  init.restartPolicy = "OnFailure";
  pod.spec.initContainers.push_back(init);
  pod.spec.containers[0].restartPolicy = "Always";
  const auto errors = validate(pod);
  EXPECT_TRUE(hasError(errors, "spec.initContainers[0].restartPolicy", ErrorType::NotSupported,
                       R"(supported values: "Always")"));
  EXPECT_TRUE(hasError(errors, "spec.containers[0].restartPolicy", ErrorType::Forbidden,
                       "may not be set for non-init containers"));
}

}  // namespace
}  // namespace kite::api
