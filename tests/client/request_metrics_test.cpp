// The process-wide API request counter behind the kubelet's rest_client_requests_total: each
// request a Transport sends is counted once by method and response code, a failed one as
// "<error>".

#include "kite/client/request_metrics.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <chrono>
#include <string>
#include <thread>

#include "kite/client/errors.h"
#include "kite/client/transport.h"

namespace kite::client {
namespace {

std::uint64_t countOf(const std::string& method, const std::string& code) {
  for (const auto& r : requestCounts()) {
    if (r.method == method && r.code == code) return r.count;
  }
  return 0;
}

TEST(RequestMetrics, CountsByMethodAndCodeAcrossThreads) {
  const auto before = countOf("PATCH", "422");
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([] {
      for (int i = 0; i < 250; ++i) countRequest("PATCH", "422");
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(countOf("PATCH", "422") - before, 1000U);
}

TEST(RequestMetrics, PrometheusTextHasUpstreamNameAndLabels) {
  countRequest("PUT", "409");
  const auto text = requestMetricsText();
  EXPECT_NE(text.find("# TYPE rest_client_requests_total counter\n"), std::string::npos);
  EXPECT_NE(text.find("rest_client_requests_total{code=\"409\",method=\"PUT\"} "),
            std::string::npos);
}

TEST(RequestMetrics, TransportCountsEachRequestAndFailures) {
  httplib::Server server;
  server.Get("/ok", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("{}", "application/json");
  });
  server.Post("/missing",
              [](const httplib::Request&, httplib::Response& res) { res.status = 404; });
  const int port = server.bind_to_any_port("127.0.0.1");
  std::thread serving([&] { server.listen_after_bind(); });
  while (!server.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(5));

  RestConfig config;
  config.server = "http://127.0.0.1:" + std::to_string(port);
  Transport transport(config);
  const auto gets = countOf("GET", "200");
  const auto posts = countOf("POST", "404");
  for (int i = 0; i < 3; ++i) transport.send({.method = "GET", .target = "/ok"});
  transport.send({.method = "POST", .target = "/missing", .body = "{}"});
  EXPECT_EQ(countOf("GET", "200") - gets, 3U);
  EXPECT_EQ(countOf("POST", "404") - posts, 1U);

  server.stop();
  serving.join();
  const auto errors = countOf("GET", "<error>");
  EXPECT_THROW(transport.send({.method = "GET", .target = "/ok"}), TransportError);
  EXPECT_GE(countOf("GET", "<error>") - errors, 1U);
}

}  // namespace
}  // namespace kite::client
