// kube-proxy's /healthz and /metrics ends on loopback, and the sync histograms behind them.

#include "kite/proxy/status_servers.h"

#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "kite/proxy/health_check_servers.h"

namespace kite::proxy {
namespace {

using ::testing::HasSubstr;

// A loopback port nobody uses right now.
int freePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

TEST(SyncMetrics, HistogramsUnderKubeProxysNames) {
  SyncMetrics metrics;
  metrics.observe(true, std::chrono::milliseconds(3));
  metrics.observe(false, std::chrono::microseconds(500));
  const auto text = metrics.prometheusText();
  EXPECT_THAT(text, HasSubstr("# TYPE kubeproxy_sync_proxy_rules_duration_seconds histogram\n"));
  EXPECT_THAT(text,
              HasSubstr("kubeproxy_sync_proxy_rules_duration_seconds_bucket{le=\"0.001\"} 1\n"));
  EXPECT_THAT(text,
              HasSubstr("kubeproxy_sync_proxy_rules_duration_seconds_bucket{le=\"0.004\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("kubeproxy_sync_proxy_rules_duration_seconds_count 2\n"));
  EXPECT_THAT(text, HasSubstr("kubeproxy_sync_full_proxy_rules_duration_seconds_count 1\n"));
  EXPECT_THAT(
      text,
      HasSubstr("kubeproxy_sync_partial_proxy_rules_duration_seconds_bucket{le=\"+Inf\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("kubeproxy_sync_proxy_rules_last_timestamp_seconds 1"));
}

TEST(StatusServers, HealthzFollowsTheSyncsAndMetricsAreServed) {
  SyncMetrics metrics;
  const int healthzPort = freePort();
  const int metricsPort = freePort();
  StatusServers servers("127.0.0.1:" + std::to_string(healthzPort),
                        "127.0.0.1:" + std::to_string(metricsPort), metrics,
                        std::chrono::seconds(30));
  httplib::Client healthz("127.0.0.1", healthzPort);
  auto before = healthz.Get("/healthz");
  ASSERT_TRUE(before);
  EXPECT_EQ(before->status, 503);  // no sync yet
  metrics.observe(true, std::chrono::milliseconds(2));
  auto after = healthz.Get("/healthz");
  ASSERT_TRUE(after);
  EXPECT_EQ(after->status, 200);
  EXPECT_THAT(after->body, HasSubstr("\"nodeEligible\":true"));
  EXPECT_THAT(after->body, HasSubstr("\"lastUpdated\":\"20"));
  EXPECT_EQ(after->get_header_value("Content-Type"), "application/json");

  httplib::Client scrape("127.0.0.1", metricsPort);
  auto text = scrape.Get("/metrics");
  ASSERT_TRUE(text);
  EXPECT_EQ(text->status, 200);
  EXPECT_THAT(text->body, HasSubstr("kubeproxy_sync_full_proxy_rules_duration_seconds_count 1"));
}

TEST(StatusServers, BadAddressesNameTheirFlag) {
  SyncMetrics metrics;
  try {
    StatusServers servers("0.0.0.0", "", metrics, std::chrono::seconds(30));
    FAIL() << "no error";
  } catch (const std::invalid_argument& e) {
    EXPECT_THAT(e.what(), HasSubstr("--healthz-bind-address"));
  }
  EXPECT_THROW(StatusServers("", "127.0.0.1:99999", metrics, std::chrono::seconds(30)),
               std::invalid_argument);
}

// A dual-stack Service with externalTrafficPolicy Local has an entry per family; its pods are
// counted once, not once per address.
TEST(HealthCheckServers, DualStackPodsCountOnce) {
  const int port = freePort();
  ServicePortState v4;
  v4.namespace_ = "default";
  v4.name = "web";
  v4.protocol = "tcp";
  v4.clusterIP = "10.43.0.10";
  v4.port = 80;
  v4.nodePort = 30080;
  v4.externalPolicyLocal = true;
  v4.healthCheckNodePort = port;
  v4.endpoints = {{.ip = "10.42.0.5", .port = 80, .local = true},
                  {.ip = "10.42.0.6", .port = 80, .local = true},
                  {.ip = "10.42.1.7", .port = 80, .local = false}};
  ServicePortState v6 = v4;
  v6.clusterIP = "fd00:43::10";
  v6.endpoints = {{.ip = "fd00:42::5", .port = 80, .local = true},
                  {.ip = "fd00:42::6", .port = 80, .local = true},
                  {.ip = "fd00:42:1::7", .port = 80, .local = false}};
  DesiredState state;
  state.services[v4.key()] = v4;
  state.services[v6.key()] = v6;
  ASSERT_EQ(state.services.size(), 2U);
  HealthCheckServers servers("127.0.0.1");
  servers.sync(state);
  ASSERT_EQ(servers.listening(), 1U);
  httplib::Client client("127.0.0.1", port);
  const auto answer = client.Get("/");
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 200);
  EXPECT_THAT(answer->body, HasSubstr("\"localEndpoints\":2}"));
}

}  // namespace
}  // namespace kite::proxy
