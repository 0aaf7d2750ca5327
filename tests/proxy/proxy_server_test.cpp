// The Proxy against a real `kite server`: its informers turn a Service and an EndpointSlice
// into the desired state a (recording) dataplane receives, full first, then incremental.

#include <gtest/gtest.h>

#include <chrono>
#include <mutex>
#include <thread>
#include <tuple>

#include "kite/client/client.h"
#include "kite/proxy/proxy.h"
#include "test_server.h"

namespace kite::proxy {
namespace {

class RecordingDataplane final : public Dataplane {
 public:
  void syncAll(const DesiredState& state) override { record(state, true); }
  void syncChanges(const DesiredState& /*applied*/, const DesiredState& next) override {
    record(next, false);
  }
  void cleanup() override {}

  // Waits until a synced state satisfies pred.
  bool waitFor(const std::function<bool(const DesiredState&, bool full)>& pred) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < deadline) {
      {
        std::lock_guard lock(mutex_);
        if (last_ && pred(*last_, lastFull_)) return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }

 private:
  void record(const DesiredState& state, bool full) {
    std::lock_guard lock(mutex_);
    last_ = state;
    lastFull_ = full;
  }
  std::mutex mutex_;
  std::optional<DesiredState> last_;
  bool lastFull_ = false;
};

TEST(ProxyServer, ServicesAndEndpointSlicesReachTheDataplane) {
  client::testing::TestServer server;
  server.start();
  client::Client c(server.config());

  auto dataplane = std::make_unique<RecordingDataplane>();
  auto* dp = dataplane.get();
  ProxyOptions options;
  options.hostname = "n1";
  options.minSyncPeriod = std::chrono::milliseconds(100);
  Proxy proxy(c, options, std::move(dataplane));
  proxy.start();
  ASSERT_TRUE(
      dp->waitFor([](const DesiredState& s, bool full) { return full && s.services.empty(); }));

  api::core::v1::Service svc;
  svc.metadata.name = "web";
  svc.metadata.namespace_ = "default";
  api::core::v1::ServicePort port;
  port.name = "http";
  port.port = 80;
  port.targetPort = 8080;
  svc.spec.ports.push_back(port);
  svc.spec.selector["app"] = "web";
  const auto created = c.create(svc);
  ASSERT_FALSE(created.spec.clusterIP.empty());

  api::discovery::v1::EndpointSlice slice;
  slice.metadata.name = "web-1";
  slice.metadata.namespace_ = "default";
  slice.metadata.labels[kServiceNameLabel] = "web";
  slice.addressType = "IPv4";
  api::discovery::v1::EndpointPort ep;
  ep.name = "http";
  ep.protocol = "TCP";
  ep.port = 8080;
  slice.ports.push_back(ep);
  api::discovery::v1::Endpoint e;
  e.addresses = {"10.42.0.7"};
  e.conditions.ready = true;
  slice.endpoints.push_back(e);
  c.create(slice);

  const std::string key = "default/web:http/tcp";
  EXPECT_TRUE(dp->waitFor([&](const DesiredState& s, bool full) {
    const auto it = s.services.find(key);
    return !full && it != s.services.end() && it->second.clusterIP == created.spec.clusterIP &&
           it->second.endpoints == std::vector<EndpointTarget>{{"10.42.0.7", 8080}};
  }));

  c.remove<api::discovery::v1::EndpointSlice>("default", "web-1");
  EXPECT_TRUE(dp->waitFor([&](const DesiredState& s, bool) {
    const auto it = s.services.find(key);
    return it != s.services.end() && it->second.endpoints.empty();
  }));
  EXPECT_GE(proxy.syncCount(), 3U);
  proxy.stop();
}

class RecordingRouteTable final : public RouteTable {
 public:
  std::vector<netlink::Route> listOwn() override {
    std::lock_guard lock(mutex_);
    return routes_;
  }
  void replace(const netlink::Route& route) override {
    std::lock_guard lock(mutex_);
    std::erase_if(routes_, [&](const auto& r) { return r.destination == route.destination; });
    routes_.push_back(route);
  }
  void remove(const netlink::Route& route) override {
    std::lock_guard lock(mutex_);
    std::erase_if(routes_, [&](const auto& r) { return r.destination == route.destination; });
  }
  bool waitFor(const std::vector<netlink::Route>& expected) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < deadline) {
      if (listOwn() == expected) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }

 private:
  std::mutex mutex_;
  std::vector<netlink::Route> routes_;
};

TEST(ProxyServer, NodesPodCidrsBecomeHostGatewayRoutes) {
  client::testing::TestServer server;
  server.start();
  client::Client c(server.config());

  auto routes = std::make_unique<RecordingRouteTable>();
  auto* table = routes.get();
  ProxyOptions options;
  options.hostname = "self";
  options.minSyncPeriod = std::chrono::milliseconds(100);
  options.hostGatewayRoutes = true;
  Proxy proxy(c, options, std::make_unique<RecordingDataplane>(), std::move(routes));
  proxy.start();

  for (const auto& [name, cidr, ip] : {std::tuple{"self", "10.42.0.0/24", "192.168.1.10"},
                                       std::tuple{"n1", "10.42.1.0/24", "192.168.1.11"}}) {
    api::core::v1::Node node;
    node.metadata.name = name;
    node.spec.podCIDR = cidr;
    node.spec.podCIDRs = {cidr};
    auto created = c.create(node);
    api::core::v1::NodeAddress address;
    address.type = "InternalIP";
    address.address = ip;
    created.status.addresses = {address};
    c.updateStatus(created);
  }
  EXPECT_TRUE(table->waitFor({{.destination = "10.42.1.0/24", .gateway = "192.168.1.11"}}));
  c.remove<api::core::v1::Node>("", "n1");
  EXPECT_TRUE(table->waitFor({}));
  proxy.stop();
}

}  // namespace
}  // namespace kite::proxy
