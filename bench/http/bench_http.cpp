// HTTPS server throughput and latency: kite's server answering a small JSON body (the size of
// the API server's /version), driven over TLS by wrk (HTTP/1.1, keep-alive connections) or by
// h2load (HTTP/2, several streams in flight per connection; wrk cannot speak HTTP/2).
//
//   build/bench/http/bench_http [--protocol h1|h2] [--connections 64] [--seconds 10]
//                               [--client-threads 2] [--streams 10] [--io-threads 1]
//                               [--workers 4]
//
// Prints the load generator's own report, then one summary line: requests/s and latency
// (wrk: percentiles; h2load: mean and maximum, which is what it reports).

#include <CLI/CLI.hpp>
#include <atomic>
#include <cstdio>
#include <iostream>
#include <sstream>
#include <string>

#include "kite/http/server.h"
#include "test_certificates.h"

namespace {

constexpr std::string_view kBody =
    R"({"major":"1","minor":"29","gitVersion":"v1.29.0-kite","gitCommit":"0000000000000000000000000000000000000000","gitTreeState":"clean","buildDate":"2026-11-25T00:00:00Z","goVersion":"n/a","compiler":"gcc","platform":"linux/amd64"})";

std::string run(const std::string& command) {
  std::string output;
  FILE* pipe = popen(command.c_str(), "r");  // NOLINT(cert-env33-c): runs wrk on purpose
  if (pipe == nullptr) {
    return output;
  }
  char buffer[4096];
  std::size_t got = 0;
  while ((got = fread(buffer, 1, sizeof buffer, pipe)) > 0) {
    output.append(buffer, got);
  }
  pclose(pipe);
  return output;
}

// The value after `label` on the first line starting with it (after spaces), e.g. "99%".
std::string field(const std::string& report, const std::string& label) {
  std::istringstream lines(report);
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream words(line);
    std::string first;
    words >> first;
    if (first == label) {
      std::string value;
      words >> value;
      return value;
    }
  }
  return "?";
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"kite HTTPS server benchmark (wrk or h2load over TLS)"};
  std::string protocol = "h1";
  unsigned connections = 64;
  unsigned streams = 10;
  unsigned seconds = 10;
  unsigned wrkThreads = 2;
  unsigned ioThreads = 1;
  unsigned workers = 4;
  app.add_option("--protocol", protocol, "h1 (wrk) or h2 (h2load)")
      ->check(CLI::IsMember({"h1", "h2"}));
  app.add_option("--connections", connections, "client connections (keep-alive)");
  app.add_option("--seconds", seconds, "duration");
  app.add_option("--client-threads,--wrk-threads", wrkThreads, "load generator threads");
  app.add_option("--streams", streams, "h2: concurrent streams per connection (h2load -m)");
  app.add_option("--io-threads", ioThreads, "server io threads");
  app.add_option("--workers", workers, "server worker threads");
  CLI11_PARSE(app, argc, argv);

  const kite::http::testing::TestCertificates certificates;
  kite::http::ServerOptions options;
  options.bindAddress = "127.0.0.1";
  options.tls.certificateFile = certificates.serverCert;
  options.tls.privateKeyFile = certificates.serverKey;
  options.tls.clientCaFile = certificates.caCert;
  options.ioThreads = ioThreads;
  options.workerThreads = workers;
  std::atomic<std::uint64_t> served{0};
  auto server = kite::http::startServer(
      options, [&served](kite::http::Request& /*request*/,
                         const std::shared_ptr<kite::http::Responder>& responder) {
        kite::http::Response response;
        response.headers.emplace_back("content-type", "application/json");
        response.body = std::string(kBody);
        responder->respond(std::move(response));
        served.fetch_add(1, std::memory_order_relaxed);
      });

  const bool h2 = protocol == "h2";
  std::string command = h2 ? "h2load -t" : "wrk --latency -t";
  command.append(std::to_string(wrkThreads)).append(" -c").append(std::to_string(connections));
  if (h2) {
    command.append(" -m").append(std::to_string(streams)).append(" -D");
  } else {
    command.append(" -d");
  }
  command.append(std::to_string(seconds))
      .append(h2 ? " " : "s ")
      .append("https://127.0.0.1:")
      .append(std::to_string(server->port()))
      .append("/version 2>&1");
  std::cout << "$ " << command << "\n" << std::flush;
  const std::string report = run(command);
  std::cout << report;
  server->stop();

  if (h2) {
    // "finished in 10.00s, 41234.50 req/s, 12.3MB/s" and
    // "time for request:   123us  45.6ms  1.23ms  ..." (min, max, mean, sd, +/- sd).
    const auto perSecond = report.find(" req/s");
    const auto from = report.rfind(", ", perSecond);
    const std::string rate = perSecond == std::string::npos || from == std::string::npos
                                 ? "?"
                                 : report.substr(from + 2, perSecond - from - 2);
    std::string mean = "?";
    std::string max = "?";
    const auto at = report.find("time for request:");
    if (at != std::string::npos) {
      std::istringstream words(report.substr(at + 17, report.find('\n', at) - at - 17));
      std::string min;
      words >> min >> max >> mean;
    }
    const bool negotiated = report.find("Application protocol: h2") != std::string::npos;
    std::cout << "\nkite http/2: " << rate << " requests/s, latency mean " << mean << ", max "
              << max << " (" << connections << " connections x " << streams << " streams, "
              << ioThreads << " io thread(s), " << workers << " workers, " << kBody.size()
              << "-byte JSON body; handler calls " << served.load() << ")\n";
    return rate == "?" || !negotiated ? 1 : 0;
  }

  std::cout << "\nkite http: " << field(report, "Requests/sec:") << " requests/s, latency p50 "
            << field(report, "50%") << ", p90 " << field(report, "90%") << ", p99 "
            << field(report, "99%") << " (" << connections << " connections, " << ioThreads
            << " io thread(s), " << workers << " workers, " << kBody.size()
            << "-byte JSON body; handler calls " << served.load() << ")\n";
  return report.find("Requests/sec:") == std::string::npos ? 1 : 0;
}
