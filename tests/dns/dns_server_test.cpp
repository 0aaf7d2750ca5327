// The DNS server on informers against a real `kite server --disable-agent`: Services and
// EndpointSlices created through the API, asked with dig on 127.0.0.1; names outside the
// cluster go to a fake upstream on another loopback port.

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <thread>

#include "dns_test_util.h"
#include "kite/api/core/v1/types.h"
#include "kite/api/discovery/v1/types.h"
#include "kite/client/client.h"
#include "kite/dns/dns_server.h"
#include "test_server.h"

namespace kite::dns {
namespace {

namespace core = api::core::v1;
namespace discovery = api::discovery::v1;
using testing::dig;
using testing::digShort;

core::Service service(const std::string& name, const std::string& clusterIP,
                      const std::string& type = "") {
  core::Service s;
  s.metadata.name = name;
  s.metadata.namespace_ = "default";
  s.spec.type = type;
  s.spec.clusterIP = clusterIP;
  if (type == "ExternalName") {
    s.spec.externalName = "example.org";
  } else {
    core::ServicePort p;
    p.name = "http";
    p.protocol = "TCP";
    p.port = 80;
    s.spec.ports.push_back(p);
  }
  return s;
}

discovery::EndpointSlice slice(const std::string& svc) {
  discovery::EndpointSlice s;
  s.metadata.name = svc + "-abc";
  s.metadata.namespace_ = "default";
  s.metadata.labels[std::string(discovery::Label::ServiceName)] = svc;
  s.addressType = "IPv4";
  discovery::Endpoint ready;
  ready.addresses = {"10.244.0.5"};
  ready.hostname = "db-0";
  ready.conditions.ready = true;
  discovery::Endpoint notReady;
  notReady.addresses = {"10.244.0.9"};
  notReady.conditions.ready = false;
  s.endpoints = {ready, notReady};
  discovery::EndpointPort port;
  port.name = "http";
  port.protocol = "TCP";
  port.port = 8080;
  s.ports.push_back(port);
  return s;
}

// Asks until done(answer) (the informers see the API's changes a moment later).
std::string eventually(const std::function<std::string()>& ask,
                       const std::function<bool(const std::string&)>& done) {
  std::string got;
  for (int i = 0; i < 50; ++i) {
    got = ask();
    if (done(got)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return got;
}

TEST(DnsServerOnKiteServer, AnswersFromServicesAndEndpointSlices) {
  client::testing::TestServer apiServer;
  apiServer.start();
  client::Client c(apiServer.config());
  const auto web = c.create(service("web", ""));
  const std::string webIP = web.spec.clusterIP;
  ASSERT_FALSE(webIP.empty());
  c.create(service("db", "None"));
  c.create(service("ext", "", "ExternalName"));
  c.create(slice("db"));

  testing::FakeUpstream upstream;
  DnsServer dns(c, {.bindAddress = "127.0.0.1",
                    .port = 0,
                    .upstreams = {upstream.address()},
                    .upstreamTimeout = std::chrono::milliseconds(1500)});
  dns.start();
  const std::uint16_t port = dns.port();

  // ClusterIP Service.
  const auto a = dig(port, "web.default.svc.cluster.local", "A");
  EXPECT_NE(a.find("status: NOERROR"), std::string::npos) << a;
  EXPECT_NE(a.find("IN\tA\t" + webIP), std::string::npos) << a;
  // Headless: only the ready endpoint, also by its hostname.
  EXPECT_EQ(digShort(port, "db.default.svc.cluster.local", "A"), "10.244.0.5\n");
  EXPECT_EQ(digShort(port, "db-0.db.default.svc.cluster.local", "A", "+tcp"), "10.244.0.5\n");
  // SRV of a named port: the Service, and each headless endpoint at its own port.
  EXPECT_EQ(digShort(port, "_http._tcp.web.default.svc.cluster.local", "SRV"),
            "0 100 80 web.default.svc.cluster.local.\n");
  EXPECT_EQ(digShort(port, "_http._tcp.db.default.svc.cluster.local", "SRV"),
            "0 100 8080 db-0.db.default.svc.cluster.local.\n");
  // ExternalName: the CNAME, and its target's address from upstream.
  EXPECT_EQ(digShort(port, "ext.default.svc.cluster.local", "A"), "example.org.\n192.0.2.1\n");
  // PTR of the cluster IP.
  EXPECT_EQ(digShort(port, webIP, "", "-x"), "web.default.svc.cluster.local.\n");
  // Missing name: NXDOMAIN with the SOA.
  const auto nx = dig(port, "nope.default.svc.cluster.local", "A");
  EXPECT_NE(nx.find("status: NXDOMAIN"), std::string::npos) << nx;
  EXPECT_NE(nx.find("IN\tSOA\tns.dns.cluster.local."), std::string::npos) << nx;
  // Outside the cluster: forwarded.
  EXPECT_EQ(digShort(port, "www.example.com", "A"), "192.0.2.1\n");
  EXPECT_GE(upstream.udpQueries(), 2);

  // Changes arrive through the watch: a new Service appears, a deleted one goes.
  c.create(service("late", ""));
  const auto late =
      eventually([&] { return digShort(port, "late.default.svc.cluster.local", "A"); },
                 [](const std::string& out) { return !out.empty(); });
  EXPECT_FALSE(late.empty());
  c.remove<core::Service>("default", "web");
  const auto gone = eventually(
      [&] { return dig(port, "web.default.svc.cluster.local", "A"); },
      [](const std::string& out) { return out.find("status: NXDOMAIN") != std::string::npos; });
  EXPECT_NE(gone.find("status: NXDOMAIN"), std::string::npos) << gone;
  dns.stop();
}

}  // namespace
}  // namespace kite::dns
