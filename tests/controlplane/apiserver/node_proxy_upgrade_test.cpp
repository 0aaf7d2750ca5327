// Which WebSocket upgrades through nodes/NAME/proxy/... the API server takes on: the kubelet's
// exec, attach and portForward routes get the same protocol choice as pods/exec, pods/attach and
// pods/portforward; any other path, or a route missing its pod or container, gets a 400 naming
// why before any hop to a kubelet. The harness has no kubelet client certificate, so a request
// that passes the protocol checks stops at the 503 that says so (the bed test kubelet.server
// runs the streams themselves).

#include <gtest/gtest.h>

#include <string>

#include "apiserver_test_util.h"

namespace kite::testing {
namespace {

constexpr const char* kProxy = "/api/v1/nodes/n1/proxy";
constexpr const char* kNoCertificate = "no kubelet client certificate is configured";

Reply webSocket(ApiHarness& api, const std::string& target, const std::string& protocol) {
  auto request = makeRequest("GET", target);
  request.headers.emplace_back("connection", "Upgrade");
  request.headers.emplace_back("upgrade", "websocket");
  request.headers.emplace_back("sec-websocket-version", "13");
  request.headers.emplace_back("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==");
  request.headers.emplace_back("sec-websocket-protocol", protocol);
  return api.call(std::move(request));
}

TEST(NodeProxyUpgradeTest, KubeletStreamingRoutesPassTheProtocolChecks) {
  ApiHarness api;
  const std::string base = kProxy;
  for (const auto* path :
       {"/exec/default/p/c?command=true&stdout=true", "/exec/default/p/uid-1/c?command=true",
        "/attach/default/p/c?stdout=1"}) {
    for (const auto* protocol : {"v5.channel.k8s.io", "v4.base64.channel.k8s.io"}) {
      const auto r = webSocket(api, base + path, protocol);
      EXPECT_EQ(r.status, 503) << path << " " << protocol << ": " << r.body;
      EXPECT_EQ(r.message(), kNoCertificate) << path;
    }
  }
  for (const auto* path : {"/portForward/default/p", "/portForward/default/p/uid-1"}) {
    const auto r = webSocket(api, base + path, "SPDY/3.1+portforward.k8s.io");
    EXPECT_EQ(r.status, 503) << path << ": " << r.body;
    EXPECT_EQ(r.message(), kNoCertificate) << path;
  }
}

TEST(NodeProxyUpgradeTest, OtherPathsAreRefusedWithTheReason) {
  ApiHarness api;
  const std::string base = kProxy;
  for (const auto* path :
       {"/pods", "/healthz", "/exec/default/p", "/exec/default/p/a/b/c", "/attach/default",
        "/portForward/default", "/portforward/default/p", "/exec//p/c", "/run/default/p/c"}) {
    const auto r = webSocket(api, base + path, "v5.channel.k8s.io");
    EXPECT_EQ(r.status, 400) << path << ": " << r.body;
    EXPECT_NE(r.message().find("WebSocket upgrades through nodes/proxy only to the kubelet's"),
              std::string::npos)
        << path << ": " << r.message();
  }
  // A streaming route offered a protocol it does not speak: the same refusal as the pod
  // subresources give, naming what it would speak.
  auto r = webSocket(api, base + "/portForward/default/p", "v5.channel.k8s.io");
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_NE(r.message().find("SPDY/3.1+portforward.k8s.io"), std::string::npos) << r.message();
  r = webSocket(api, base + "/exec/default/p/c", "SPDY/3.1+portforward.k8s.io");
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_NE(r.message().find("v5.channel.k8s.io"), std::string::npos) << r.message();
}

}  // namespace
}  // namespace kite::testing
