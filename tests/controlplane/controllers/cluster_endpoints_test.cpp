#include "cluster_endpoints.h"

#include <gtest/gtest.h>

namespace kite::controlplane::controllers {
namespace {

namespace corev1 = api::core::v1;

corev1::Service service(bool publishNotReady = false) {
  corev1::Service s;
  s.metadata.name = "web";
  s.metadata.namespace_ = "ns";
  s.spec.selector = {{"app", "web"}};
  corev1::ServicePort http;
  http.name = "http";
  http.port = 80;
  http.targetPort = api::IntOrString("web");
  corev1::ServicePort metrics;
  metrics.name = "metrics";
  metrics.port = 9090;  // targetPort unset: the same number
  s.spec.ports = {http, metrics};
  s.spec.publishNotReadyAddresses = publishNotReady;
  return s;
}

corev1::Pod pod(const std::string& name, const std::string& ip, bool ready, int webPort = 8080) {
  corev1::Pod p;
  p.metadata.name = name;
  p.metadata.namespace_ = "ns";
  p.metadata.uid = "uid-" + name;
  p.spec.nodeName = "node1";
  corev1::Container c;
  corev1::ContainerPort cp;
  cp.name = "web";
  cp.containerPort = webPort;
  c.ports = {cp};
  p.spec.containers = {c};
  p.status.phase = "Running";
  p.status.podIP = ip;
  corev1::PodCondition cond;
  cond.type = "Ready";
  cond.status = ready ? "True" : "False";
  p.status.conditions = {cond};
  return p;
}

TEST(ClusterEndpoints, NamedTargetPortResolvedPerPod) {
  const auto s = service();
  const auto a = pod("a", "10.42.0.5", true, 8080);
  const auto b = pod("b", "10.42.0.6", true, 8081);
  EXPECT_EQ(clusterResolveTargetPort(s.spec.ports[0], a), 8080);
  EXPECT_EQ(clusterResolveTargetPort(s.spec.ports[1], a), 9090);
  const auto slices = clusterComputeEndpointSlices(s, {&a, &b});
  ASSERT_EQ(slices.size(), 2U);  // different ports: one slice each
  for (const auto& slice : slices) {
    EXPECT_EQ(slice.addressType, "IPv4");
    ASSERT_EQ(slice.endpoints.size(), 1U);
    ASSERT_EQ(slice.ports.size(), 2U);
  }
  EXPECT_EQ(slices[0].ports[0].port, 8080);
  EXPECT_EQ(slices[0].endpoints[0].addresses[0], "10.42.0.5");
  EXPECT_EQ(slices[0].endpoints[0].nodeName, "node1");
  EXPECT_EQ(slices[0].endpoints[0].targetRef->name, "a");
  EXPECT_EQ(slices[0].endpoints[0].targetRef->uid, "uid-a");
  EXPECT_EQ(slices[1].ports[0].port, 8081);
}

TEST(ClusterEndpoints, UnresolvablePortIsLeftOut) {
  auto s = service();
  auto p = pod("a", "10.42.0.5", true);
  p.spec.containers[0].ports.clear();
  const auto slices = clusterComputeEndpointSlices(s, {&p});
  ASSERT_EQ(slices.size(), 1U);
  ASSERT_EQ(slices[0].ports.size(), 1U);
  EXPECT_EQ(slices[0].ports[0].name, "metrics");
}

TEST(ClusterEndpoints, Conditions) {
  const auto s = service();
  const auto ready = pod("a", "10.42.0.5", true);
  const auto unready = pod("b", "10.42.0.6", false);
  auto terminating = pod("c", "10.42.0.7", true);
  terminating.metadata.deletionTimestamp = api::Time::now();
  const auto noIp = pod("d", "", true);
  auto done = pod("e", "10.42.0.8", true);
  done.status.phase = "Succeeded";
  const auto slices =
      clusterComputeEndpointSlices(s, {&ready, &unready, &terminating, &noIp, &done});
  ASSERT_EQ(slices.size(), 1U);
  const auto& e = slices[0].endpoints;
  ASSERT_EQ(e.size(), 3U);
  EXPECT_EQ(e[0].conditions.ready, true);
  EXPECT_EQ(e[0].conditions.serving, true);
  EXPECT_EQ(e[0].conditions.terminating, false);
  EXPECT_EQ(e[1].conditions.ready, false);
  EXPECT_EQ(e[1].conditions.serving, false);
  EXPECT_EQ(e[2].conditions.ready, false);
  EXPECT_EQ(e[2].conditions.serving, true);
  EXPECT_EQ(e[2].conditions.terminating, true);

  const auto subsets = clusterComputeEndpointSubsets(s, {&ready, &unready, &terminating, &noIp});
  ASSERT_EQ(subsets.size(), 1U);
  ASSERT_EQ(subsets[0].addresses.size(), 1U);
  EXPECT_EQ(subsets[0].addresses[0].ip, "10.42.0.5");
  EXPECT_EQ(subsets[0].addresses[0].targetRef->name, "a");
  ASSERT_EQ(subsets[0].notReadyAddresses.size(), 1U);
  EXPECT_EQ(subsets[0].notReadyAddresses[0].ip, "10.42.0.6");
  ASSERT_EQ(subsets[0].ports.size(), 2U);
  EXPECT_EQ(subsets[0].ports[0].port, 8080);
  EXPECT_EQ(subsets[0].ports[0].protocol, "TCP");
}

TEST(ClusterEndpoints, PublishNotReadyAddresses) {
  const auto s = service(true);
  const auto unready = pod("b", "10.42.0.6", false);
  auto terminating = pod("c", "10.42.0.7", false);
  terminating.metadata.deletionTimestamp = api::Time::now();
  const auto slices = clusterComputeEndpointSlices(s, {&unready, &terminating});
  ASSERT_EQ(slices[0].endpoints.size(), 2U);
  EXPECT_EQ(slices[0].endpoints[0].conditions.ready, true);
  EXPECT_EQ(slices[0].endpoints[1].conditions.ready, true);
  const auto subsets = clusterComputeEndpointSubsets(s, {&unready, &terminating});
  EXPECT_EQ(subsets[0].addresses.size(), 2U);
  EXPECT_TRUE(subsets[0].notReadyAddresses.empty());
}

TEST(ClusterEndpoints, HostnameWhenSubdomainIsTheService) {
  const auto s = service();
  auto p = pod("a", "10.42.0.5", true);
  p.spec.hostname = "web-0";
  p.spec.subdomain = "web";
  const auto slices = clusterComputeEndpointSlices(s, {&p});
  EXPECT_EQ(slices[0].endpoints[0].hostname, "web-0");
  EXPECT_EQ(clusterComputeEndpointSubsets(s, {&p})[0].addresses[0].hostname, "web-0");
}

TEST(ClusterEndpoints, AtMostOneHundredEndpointsPerSlice) {
  const auto s = service();
  std::vector<corev1::Pod> pods;
  for (int i = 0; i < 250; ++i) {
    pods.push_back(pod("p" + std::to_string(1000 + i),
                       "10.42." + std::to_string(i / 200) + "." + std::to_string(i % 200 + 1),
                       true));
  }
  std::vector<const corev1::Pod*> ptrs;
  for (const auto& p : pods) ptrs.push_back(&p);
  const auto slices = clusterComputeEndpointSlices(s, ptrs);
  ASSERT_EQ(slices.size(), 3U);
  EXPECT_EQ(slices[0].endpoints.size(), 100U);
  EXPECT_EQ(slices[1].endpoints.size(), 100U);
  EXPECT_EQ(slices[2].endpoints.size(), 50U);
  EXPECT_EQ(slices[2].ports, slices[0].ports);
}

}  // namespace
}  // namespace kite::controlplane::controllers
