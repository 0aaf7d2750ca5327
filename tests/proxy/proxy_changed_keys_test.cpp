// The Proxy against a real `kite server`: after the first full sync, an EndpointSlice or
// Service event hands the dataplane the keys of that Service's ports alone, and the state it
// gets is the one computed from everything; the Node's zone label picks hinted endpoints.

#include <gtest/gtest.h>

#include <chrono>
#include <mutex>
#include <thread>

#include "kite/client/client.h"
#include "kite/proxy/proxy.h"
#include "test_server.h"

namespace kite::proxy {
namespace {

class KeyRecordingDataplane final : public Dataplane {
 public:
  void syncAll(const DesiredState& state) override {
    std::lock_guard lock(mutex_);
    last_ = state;
    ++fulls_;
  }
  void syncChanges(const DesiredState& /*applied*/, const DesiredState& next) override {
    std::lock_guard lock(mutex_);
    last_ = next;
    keys_.emplace_back("(all)");
  }
  void syncChangedKeys(const DesiredState& /*applied*/, const DesiredState& next,
                       const std::vector<std::string>& keys) override {
    std::lock_guard lock(mutex_);
    last_ = next;
    keys_.insert(keys_.end(), keys.begin(), keys.end());
  }
  void cleanup() override {}

  bool waitFor(const std::function<bool(const DesiredState&)>& pred) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < deadline) {
      {
        std::lock_guard lock(mutex_);
        if (pred(last_)) return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }
  std::vector<std::string> takeKeys() {
    std::lock_guard lock(mutex_);
    return std::exchange(keys_, {});
  }
  int fulls() {
    std::lock_guard lock(mutex_);
    return fulls_;
  }

 private:
  std::mutex mutex_;
  DesiredState last_;
  std::vector<std::string> keys_;
  int fulls_ = 0;
};

api::core::v1::Service serviceNamed(const std::string& name) {
  api::core::v1::Service svc;
  svc.metadata.name = name;
  svc.metadata.namespace_ = "default";
  api::core::v1::ServicePort port;
  port.name = "http";
  port.port = 80;
  port.targetPort = 8080;
  svc.spec.ports.push_back(port);
  return svc;
}

api::discovery::v1::EndpointSlice sliceOf(const std::string& service, const std::string& ip) {
  api::discovery::v1::EndpointSlice slice;
  slice.metadata.name = service + "-1";
  slice.metadata.namespace_ = "default";
  slice.metadata.labels[kServiceNameLabel] = service;
  slice.addressType = "IPv4";
  api::discovery::v1::EndpointPort ep;
  ep.name = "http";
  ep.protocol = "TCP";
  ep.port = 8080;
  slice.ports.push_back(ep);
  api::discovery::v1::Endpoint e;
  e.addresses = {ip};
  e.conditions.ready = true;
  slice.endpoints.push_back(e);
  return slice;
}

std::vector<EndpointTarget> endpointsOf(const DesiredState& s, const std::string& key) {
  const auto it = s.services.find(key);
  return it == s.services.end() ? std::vector<EndpointTarget>{} : it->second.endpoints;
}

TEST(ProxyChangedKeys, AnEventHandsOverTheKeysOfItsServiceOnly) {
  client::testing::TestServer server;
  server.start();
  client::Client c(server.config());
  // Three Services with an endpoint each before the proxy starts: its first sync is full.
  for (const auto* name : {"web", "web2", "db"}) {
    c.create(serviceNamed(name));
    c.create(sliceOf(name, "10.42.0.1"));
  }

  auto dataplane = std::make_unique<KeyRecordingDataplane>();
  auto* dp = dataplane.get();
  ProxyOptions options;
  options.minSyncPeriod = std::chrono::milliseconds(100);
  Proxy proxy(c, options, std::move(dataplane));
  proxy.start();
  ASSERT_TRUE(dp->waitFor([](const DesiredState& s) {
    return s.services.size() == 3 && !endpointsOf(s, "default/db:http/tcp").empty();
  }));
  EXPECT_EQ(dp->fulls(), 1);
  dp->takeKeys();

  // One endpoint replaced: only web's port ("web" is a prefix of web2's name, not its key).
  auto slice = c.get<api::discovery::v1::EndpointSlice>("default", "web-1");
  slice.endpoints[0].addresses = {"10.42.0.2"};
  c.update(slice);
  const std::vector<EndpointTarget> moved{{"10.42.0.2", 8080}};
  ASSERT_TRUE(dp->waitFor(
      [&](const DesiredState& s) { return endpointsOf(s, "default/web:http/tcp") == moved; }));
  EXPECT_EQ(dp->takeKeys(), std::vector<std::string>{"default/web:http/tcp"});

  // A Service gone: its key, and the state it is handed lacks it while the others stay.
  c.remove<api::core::v1::Service>("default", "db");
  ASSERT_TRUE(dp->waitFor([](const DesiredState& s) {
    return !s.services.contains("default/db:http/tcp") && s.services.size() == 2;
  }));
  EXPECT_EQ(dp->takeKeys(), std::vector<std::string>{"default/db:http/tcp"});
  EXPECT_TRUE(dp->waitFor([&](const DesiredState& s) {
    return endpointsOf(s, "default/web:http/tcp") == moved &&
           endpointsOf(s, "default/web2:http/tcp") ==
               std::vector<EndpointTarget>{{"10.42.0.1", 8080}};
  }));
  EXPECT_EQ(dp->fulls(), 1);
  proxy.stop();
}

// Topology aware routing end to end: the Proxy reads its own Node's zone label, hands the
// dataplane only the endpoints hinted for that zone, and recomputes when the label changes.
TEST(ProxyChangedKeys, TopologyHintsFollowTheNodesZoneLabel) {
  client::testing::TestServer server;
  server.start();
  client::Client c(server.config());
  api::core::v1::Node node;
  node.metadata.name = "n1";
  node.metadata.labels["topology.kubernetes.io/zone"] = "zone-a";
  c.create(node);
  auto svc = serviceNamed("web");
  svc.metadata.annotations["service.kubernetes.io/topology-mode"] = "Auto";
  c.create(svc);
  auto slice = sliceOf("web", "10.42.0.1");
  auto other = slice.endpoints[0];
  other.addresses = {"10.42.1.1"};
  slice.endpoints.push_back(other);
  slice.endpoints[0].hints = api::discovery::v1::EndpointHints{.forZones = {{.name = "zone-a"}}};
  slice.endpoints[1].hints = api::discovery::v1::EndpointHints{.forZones = {{.name = "zone-b"}}};
  c.create(slice);

  auto dataplane = std::make_unique<KeyRecordingDataplane>();
  auto* dp = dataplane.get();
  ProxyOptions options;
  options.hostname = "n1";
  options.minSyncPeriod = std::chrono::milliseconds(100);
  Proxy proxy(c, options, std::move(dataplane));
  proxy.start();
  const std::vector<EndpointTarget> zoneA{{"10.42.0.1", 8080}};
  EXPECT_TRUE(dp->waitFor(
      [&](const DesiredState& s) { return endpointsOf(s, "default/web:http/tcp") == zoneA; }));

  // The node moves to zone-b: the other endpoint, without any Service or slice event.
  node = c.get<api::core::v1::Node>("", "n1");
  node.metadata.labels["topology.kubernetes.io/zone"] = "zone-b";
  c.update(node);
  const std::vector<EndpointTarget> zoneB{{"10.42.1.1", 8080}};
  EXPECT_TRUE(dp->waitFor(
      [&](const DesiredState& s) { return endpointsOf(s, "default/web:http/tcp") == zoneB; }));

  // Label gone: the zone is unknown, so hints are ignored and both endpoints are used.
  node = c.get<api::core::v1::Node>("", "n1");
  node.metadata.labels.erase("topology.kubernetes.io/zone");
  c.update(node);
  const std::vector<EndpointTarget> both{{"10.42.0.1", 8080}, {"10.42.1.1", 8080}};
  EXPECT_TRUE(dp->waitFor(
      [&](const DesiredState& s) { return endpointsOf(s, "default/web:http/tcp") == both; }));
  proxy.stop();
}

}  // namespace
}  // namespace kite::proxy
