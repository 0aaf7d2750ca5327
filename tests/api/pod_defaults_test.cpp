// applyPodDefaults: the defaults upstream's API server fills in, which validation then relies on.

#include "kite/api/pod_defaults.h"

#include <gtest/gtest.h>

namespace kite::api {
namespace {

namespace corev1 = core::v1;

corev1::Pod podWithOneContainer() {
  corev1::Pod pod;
  pod.metadata.name = "p";
  corev1::Container c;
  c.name = "c";
  c.image = "busybox:1.35";
  pod.spec.containers = {c};
  return pod;
}

TEST(PodDefaults, HttpGetGetsPathAndSchemeInProbesAndHooks) {
  auto pod = podWithOneContainer();
  auto& c = pod.spec.containers[0];
  c.readinessProbe.emplace();
  c.readinessProbe->httpGet.emplace();
  c.lifecycle.emplace();
  c.lifecycle->preStop.emplace();
  c.lifecycle->preStop->httpGet.emplace();
  c.lifecycle->preStop->httpGet->path = "/stop";
  applyPodDefaults(pod);
  EXPECT_EQ(c.readinessProbe->httpGet->path, "/");
  EXPECT_EQ(c.readinessProbe->httpGet->scheme, "HTTP");
  EXPECT_EQ(c.readinessProbe->periodSeconds, 10);
  EXPECT_EQ(c.lifecycle->preStop->httpGet->path, "/stop");
  EXPECT_EQ(c.lifecycle->preStop->httpGet->scheme, "HTTP");
}

TEST(PodDefaults, HostNetworkPortsGetTheirHostPort) {
  auto pod = podWithOneContainer();
  corev1::ContainerPort port;
  port.containerPort = 8080;
  pod.spec.containers[0].ports = {port};
  auto isolated = pod;
  pod.spec.hostNetwork = true;
  applyPodDefaults(pod);
  applyPodDefaults(isolated);
  EXPECT_EQ(pod.spec.containers[0].ports[0].hostPort, 8080);
  EXPECT_EQ(isolated.spec.containers[0].ports[0].hostPort, 0);
}

TEST(PodDefaults, FieldRefsGetV1AndTokensAnHour) {
  auto pod = podWithOneContainer();
  corev1::EnvVar env;
  env.name = "NODE";
  env.valueFrom.emplace();
  env.valueFrom->fieldRef.emplace();
  env.valueFrom->fieldRef->fieldPath = "spec.nodeName";
  pod.spec.containers[0].env = {env};
  corev1::Volume projected;
  projected.name = "token";
  projected.projected.emplace();
  corev1::VolumeProjection token;
  token.serviceAccountToken.emplace();
  token.serviceAccountToken->path = "token";
  corev1::VolumeProjection labels;
  labels.downwardAPI.emplace();
  corev1::DownwardAPIVolumeFile file;
  file.path = "labels";
  file.fieldRef.emplace();
  file.fieldRef->fieldPath = "metadata.labels";
  labels.downwardAPI->items = {file};
  projected.projected->sources = {token, labels};
  pod.spec.volumes = {projected};
  applyPodDefaults(pod);
  EXPECT_EQ(pod.spec.containers[0].env[0].valueFrom->fieldRef->apiVersion, "v1");
  const auto& sources = pod.spec.volumes[0].projected->sources;
  EXPECT_EQ(sources[0].serviceAccountToken->expirationSeconds, 3600);
  EXPECT_EQ(sources[1].downwardAPI->items[0].fieldRef->apiVersion, "v1");
}

}  // namespace
}  // namespace kite::api
