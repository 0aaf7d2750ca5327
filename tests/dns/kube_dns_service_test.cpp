// The kube-dns Service and its EndpointSlice of node addresses: the DNS address of a service
// range, the apply bodies, and the Service and slice following Nodes on a real `kite server`.

#include "kite/dns/kube_dns_service.h"

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <stdexcept>
#include <thread>

#include "kite/api/core/v1/types.h"
#include "kite/api/discovery/v1/types.h"
#include "kite/client/client.h"
#include "kite/client/errors.h"
#include "test_server.h"

namespace kite::dns {
namespace {

namespace core = api::core::v1;
namespace discovery = api::discovery::v1;

TEST(ClusterDnsIP, IsTheTenthAddressOfTheRange) {
  EXPECT_EQ(clusterDnsIP("10.43.0.0/16"), "10.43.0.10");
  EXPECT_EQ(clusterDnsIP("10.96.0.0/12"), "10.96.0.10");
  EXPECT_EQ(clusterDnsIP("192.168.7.0/24"), "192.168.7.10");
  EXPECT_EQ(clusterDnsIP("10.43.9.7/16"), "10.43.0.10");  // host bits ignored
}

TEST(ClusterDnsIP, RejectsWhatIsNotAnIPv4RangeNamingIt) {
  for (const char* bad :
       {"10.43.0.0", "fd00::/108", "10.43.0.0/29", "10.43.0.0/x", "10.43.0.0/16x", "ten/8", ""}) {
    try {
      clusterDnsIP(bad);
      ADD_FAILURE() << bad << " accepted";
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find(std::string("service CIDR ") + bad), std::string::npos)
          << e.what();
    }
  }
}

TEST(KubeDnsService, RefusesAClusterIPThatIsNoIPv4Address) {
  client::Client c(client::RestConfig{.server = "http://127.0.0.1:1"});
  EXPECT_THROW(KubeDnsService(c, {.clusterIP = "fd00::10"}), std::invalid_argument);
}

TEST(KubeDnsService, SliceBodyListsEachNodeWithItsReadiness) {
  const auto json = kubeDnsSliceJson({{"a", "10.0.0.1", true}, {"b", "10.0.0.2", false}});
  const auto slice = api::decodeJson<discovery::EndpointSlice>(json);
  EXPECT_EQ(slice.metadata.labels.at("kubernetes.io/service-name"), "kube-dns");
  ASSERT_EQ(slice.endpoints.size(), 2U);
  EXPECT_EQ(slice.endpoints[1].addresses, std::vector<std::string>{"10.0.0.2"});
  EXPECT_EQ(slice.endpoints[1].nodeName, "b");
  EXPECT_EQ(slice.endpoints[1].conditions.ready, false);
  ASSERT_EQ(slice.ports.size(), 2U);
  EXPECT_EQ(slice.ports[0].name, "dns");
  EXPECT_EQ(slice.ports[0].protocol, "UDP");
  EXPECT_EQ(slice.ports[1].name, "dns-tcp");
}

// Polls until done() or about 10 s passed.
bool eventually(const std::function<bool()>& done) {
  for (int i = 0; i < 100; ++i) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

std::vector<std::tuple<std::string, std::string, bool>> dnsEndpoints(client::Client& c) {
  std::vector<std::tuple<std::string, std::string, bool>> out;
  try {
    const auto slice = c.get<discovery::EndpointSlice>("kube-system", "kube-dns-nodes");
    for (const auto& e : slice.endpoints) {
      out.emplace_back(e.nodeName.value_or(""), e.addresses.empty() ? "" : e.addresses[0],
                       e.conditions.ready.value_or(false));
    }
  } catch (const client::ApiError&) {
  }
  return out;
}

void setReady(client::Client& c, const std::string& name, const std::string& status) {
  auto node = c.get<core::Node>("", name);
  node.status.addresses = {{"Hostname", name}, {"InternalIP", "10.0.0.5"}};
  core::NodeCondition ready;
  ready.type = "Ready";
  ready.status = status;
  node.status.conditions = {ready};
  c.updateStatus(node);
}

// With a kite server that runs KubeDnsService itself, this checks that one (same manager,
// same bodies); with KITE_TEST_BINARY naming an older server, the instance started here.
TEST(KubeDnsService, KeepsTheServiceAndFollowsTheNodes) {
  client::testing::TestServer apiServer;
  apiServer.start();
  client::Client c(apiServer.config());
  KubeDnsService kubeDns(
      c, {.clusterIP = "10.43.0.10", .retryPeriod = std::chrono::milliseconds(200)});
  kubeDns.start();

  core::Service svc;
  ASSERT_TRUE(eventually([&] {
    try {
      svc = c.get<core::Service>("kube-system", "kube-dns");
      return true;
    } catch (const client::ApiError&) {
      return false;
    }
  }));
  EXPECT_EQ(svc.spec.clusterIP, "10.43.0.10");
  EXPECT_TRUE(svc.spec.selector.empty());
  EXPECT_EQ(svc.metadata.labels.at("k8s-app"), "kube-dns");
  ASSERT_EQ(svc.spec.ports.size(), 2U);
  EXPECT_EQ(svc.spec.ports[0].port, 53);
  ASSERT_TRUE(eventually([&] {
    try {
      return c.get<discovery::EndpointSlice>("kube-system", "kube-dns-nodes").endpoints.empty();
    } catch (const client::ApiError&) {
      return false;
    }
  }));

  core::Node node;
  node.metadata.name = "n1";
  c.create(node);
  setReady(c, "n1", "True");
  using Endpoints = std::vector<std::tuple<std::string, std::string, bool>>;
  EXPECT_TRUE(eventually([&] {
    return dnsEndpoints(c) == Endpoints{{"n1", "10.0.0.5", true}};
  })) << testing::PrintToString(dnsEndpoints(c));
  setReady(c, "n1", "Unknown");
  EXPECT_TRUE(eventually([&] { return dnsEndpoints(c) == Endpoints{{"n1", "10.0.0.5", false}}; }));
  c.remove<core::Node>("", "n1");
  EXPECT_TRUE(eventually([&] { return dnsEndpoints(c).empty(); }));
  kubeDns.stop();
}

}  // namespace
}  // namespace kite::dns
