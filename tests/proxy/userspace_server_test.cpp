// The whole userspace path: a real `kite server` (KITE_TEST_BINARY or the tree's kite), the
// Proxy's informers and sync loop, and the UserspaceDataplane living in the "node" namespace
// of netns.h; a client outside the cluster connects to the ClusterIP the server assigned and
// reaches the pods of the EndpointSlice, and follows the slice's changes. Root only.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <set>
#include <stdexcept>
#include <thread>

#include "kite/client/client.h"
#include "kite/proxy/proxy.h"
#include "kite/proxy/userspace_dataplane.h"
#include "netns.h"
#include "test_server.h"
#include "traffic.h"

namespace kite::proxy {
namespace {

constexpr int kPodPort = 8080;

// The dataplane is made inside the node namespace, so its event loop stays there; the
// Proxy's own threads (informers on the loopback server) stay in the test's namespace.
std::unique_ptr<UserspaceDataplane> dataplaneIn(const std::string& ns) {
  const testing::InNamespace inNode(ns);
  return std::make_unique<UserspaceDataplane>();
}

api::discovery::v1::EndpointSlice sliceOf(const std::vector<std::string>& ips) {
  api::discovery::v1::EndpointSlice slice;
  slice.metadata.name = "web-1";
  slice.metadata.namespace_ = "default";
  slice.metadata.labels[kServiceNameLabel] = "web";
  slice.addressType = "IPv4";
  api::discovery::v1::EndpointPort port;
  port.name = "http";
  port.protocol = "TCP";
  port.port = kPodPort;
  slice.ports.push_back(port);
  for (const auto& ip : ips) {
    api::discovery::v1::Endpoint e;
    e.addresses = {ip};
    e.conditions.ready = true;
    slice.endpoints.push_back(e);
  }
  return slice;
}

TEST(UserspaceProxyServer, ClientsFollowTheServicesEndpointSlices) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root for network namespaces";
  testing::TestNetwork net(2, kPodPort);
  client::testing::TestServer server;
  server.start();
  client::Client c(server.config());

  ProxyOptions options;
  options.hostname = "n1";
  options.minSyncPeriod = std::chrono::milliseconds(100);
  Proxy proxy(c, options, dataplaneIn(net.nodeNs()));
  proxy.start();

  api::core::v1::Service svc;
  svc.metadata.name = "web";
  svc.metadata.namespace_ = "default";
  api::core::v1::ServicePort port;
  port.name = "http";
  port.port = 80;
  port.targetPort = kPodPort;
  svc.spec.ports.push_back(port);
  const auto created = c.create(svc);
  const std::string clusterIP = created.spec.clusterIP;
  ASSERT_FALSE(clusterIP.empty());
  c.create(sliceOf({net.podIP(0), net.podIP(1)}));

  // Until the sync has happened: 20 connections answered by both pods.
  const auto reaches = [&](const std::set<std::string>& pods) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    std::set<std::string> seen;
    while (std::chrono::steady_clock::now() < deadline) {
      const auto lines = net.connect(net.clientNs(), "tcp", clusterIP, 80, 20);
      seen = {lines.begin(), lines.end()};
      if (seen == pods) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ADD_FAILURE() << "last seen: " << ::testing::PrintToString(seen);
    return false;
  };
  EXPECT_TRUE(reaches({"a", "b"}));

  // Pod b leaves the slice: new connections go to a only.
  auto slice = c.get<api::discovery::v1::EndpointSlice>("default", "web-1");
  slice.endpoints = sliceOf({net.podIP(0)}).endpoints;
  c.update(slice);
  EXPECT_TRUE(reaches({"a"}));

  // No endpoints: refused.
  c.remove<api::discovery::v1::EndpointSlice>("default", "web-1");
  EXPECT_TRUE(reaches({"REFUSED"}));
  proxy.stop();
}

}  // namespace
}  // namespace kite::proxy
