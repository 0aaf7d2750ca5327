#include "kite/kubelet/server/request_path.h"

#include <gtest/gtest.h>

namespace kite::kubelet::server {
namespace {

TEST(KubeletPathTest, ParsesEndpoints) {
  auto p = parseKubeletPath("/containerLogs/default/web/nginx");
  EXPECT_EQ(p.endpoint, Endpoint::kContainerLogs);
  EXPECT_EQ(p.namespace_, "default");
  EXPECT_EQ(p.pod, "web");
  EXPECT_EQ(p.container, "nginx");

  p = parseKubeletPath("/exec/ns/pod/c");
  EXPECT_EQ(p.endpoint, Endpoint::kExec);
  EXPECT_EQ(p.container, "c");
  p = parseKubeletPath("/exec/ns/pod/uid-1/c");
  EXPECT_EQ(p.endpoint, Endpoint::kExec);
  EXPECT_EQ(p.uid, "uid-1");
  EXPECT_EQ(p.container, "c");
  EXPECT_EQ(parseKubeletPath("/attach/ns/pod/c").endpoint, Endpoint::kAttach);

  p = parseKubeletPath("/portForward/ns/pod");
  EXPECT_EQ(p.endpoint, Endpoint::kPortForward);
  EXPECT_EQ(p.pod, "pod");
  EXPECT_EQ(parseKubeletPath("/portForward/ns/pod/uid").uid, "uid");

  EXPECT_EQ(parseKubeletPath("/healthz").endpoint, Endpoint::kHealthz);
  EXPECT_EQ(parseKubeletPath("/pods").endpoint, Endpoint::kPods);
  EXPECT_EQ(parseKubeletPath("/pods/").endpoint, Endpoint::kPods);
  EXPECT_EQ(parseKubeletPath("/metrics").endpoint, Endpoint::kMetrics);
  EXPECT_EQ(parseKubeletPath("/stats/summary").endpoint, Endpoint::kStatsSummary);
}

TEST(KubeletPathTest, RejectsIncompletePaths) {
  EXPECT_EQ(parseKubeletPath("/").endpoint, Endpoint::kNotFound);
  EXPECT_EQ(parseKubeletPath("/containerLogs/ns/pod").endpoint, Endpoint::kNotFound);
  EXPECT_EQ(parseKubeletPath("/containerLogs/ns/pod/c/extra").endpoint, Endpoint::kNotFound);
  EXPECT_EQ(parseKubeletPath("/exec/ns").endpoint, Endpoint::kNotFound);
  EXPECT_EQ(parseKubeletPath("/portForward/ns").endpoint, Endpoint::kNotFound);
  EXPECT_EQ(parseKubeletPath("/stats").endpoint, Endpoint::kNotFound);
  EXPECT_EQ(parseKubeletPath("/nothing").endpoint, Endpoint::kNotFound);
}

TEST(NodeAttributesTest, MapsPathsAndMethodsAsUpstream) {
  auto a = nodeAttributesFor("GET", "/containerLogs/ns/pod/c");
  EXPECT_EQ(a.verb, "get");
  EXPECT_EQ(a.subresource, "proxy");
  a = nodeAttributesFor("POST", "/exec/ns/pod/c");
  EXPECT_EQ(a.verb, "create");
  EXPECT_EQ(a.subresource, "proxy");
  EXPECT_EQ(nodeAttributesFor("GET", "/stats/summary").subresource, "stats");
  EXPECT_EQ(nodeAttributesFor("GET", "/stats").subresource, "stats");
  EXPECT_EQ(nodeAttributesFor("GET", "/metrics").subresource, "metrics");
  EXPECT_EQ(nodeAttributesFor("GET", "/metrics/cadvisor").subresource, "metrics");
  EXPECT_EQ(nodeAttributesFor("GET", "/logs/syslog").subresource, "log");
  EXPECT_EQ(nodeAttributesFor("GET", "/spec/").subresource, "spec");
  EXPECT_EQ(nodeAttributesFor("GET", "/healthz").subresource, "proxy");
  EXPECT_EQ(nodeAttributesFor("GET", "/configz").subresource, "proxy");
  EXPECT_EQ(nodeAttributesFor("GET", "/pods").subresource, "proxy");
  EXPECT_EQ(nodeAttributesFor("GET", "/statsx").subresource, "proxy");
  EXPECT_EQ(nodeAttributesFor("PUT", "/x").verb, "update");
  EXPECT_EQ(nodeAttributesFor("PATCH", "/x").verb, "patch");
  EXPECT_EQ(nodeAttributesFor("DELETE", "/x").verb, "delete");
  EXPECT_EQ(nodeAttributesFor("HEAD", "/x").verb, "get");
}

}  // namespace
}  // namespace kite::kubelet::server
