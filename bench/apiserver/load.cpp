// Load generator for the API server benchmark (bench/apiserver/bench_apiserver.py drives
// it). It speaks HTTPS/1.1 with keep-alive and presents the admin client certificate from
// kite's kubeconfig; wrk cannot present a client certificate. Each mode prints one JSON
// line of figures on stdout:
//   create  N pods with distinct names over C connections: rate, latency percentiles, codes
//   get     one pod for S seconds over C connections
//   list    a full list R times on one connection: milliseconds per run, bytes, items
//   fanout  W watches on a namespace, then E pod creates; delivery counts and lags
#include <rapidjson/document.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/beast/http/verb.hpp>
#include <boost/system/system_error.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "https_connection.h"
#include "watch_fanout.h"

namespace {

using kite::bench::HttpsConnection;
using Clock = std::chrono::steady_clock;
using boost::beast::http::verb;

struct Target {
  std::string host = "127.0.0.1";
  std::string port;
  kite::bench::ClientTls tls;
};

// A small but realistic pod: labels, one container with a port, env, probes and resources.
std::string podJson(const std::string& ns, const std::string& name) {
  std::string s;
  s.reserve(900);
  s.append(R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":")")
      .append(name)
      .append(R"(","namespace":")")
      .append(ns)
      .append(R"(","labels":{"app":"bench","tier":"web"},"annotations":{"bench/run":"1"}},)")
      .append(R"("spec":{"restartPolicy":"Always","terminationGracePeriodSeconds":30,)")
      .append(
          R"("containers":[{"name":"web","image":"nginx:1.25","imagePullPolicy":"IfNotPresent",)")
      .append(R"("ports":[{"name":"http","containerPort":80,"protocol":"TCP"}],)")
      .append(R"("env":[{"name":"MODE","value":"bench"}],)")
      .append(R"("readinessProbe":{"httpGet":{"path":"/","port":80},"periodSeconds":10},)")
      .append(R"("resources":{"requests":{"cpu":"100m","memory":"64Mi"},)")
      .append(R"("limits":{"cpu":"500m","memory":"128Mi"}}}]}})");
  return s;
}

struct Latencies {
  std::vector<double> ms;
  std::map<int, std::size_t> codes;
  std::size_t transportErrors = 0;
};

double percentile(std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  const auto i = static_cast<std::size_t>(std::lround(p * static_cast<double>(sorted.size() - 1)));
  return sorted[std::min(i, sorted.size() - 1)];
}

std::string figuresJson(const char* mode, std::vector<Latencies>& perThread, double seconds) {
  Latencies all;
  for (auto& t : perThread) {
    all.ms.insert(all.ms.end(), t.ms.begin(), t.ms.end());
    for (auto [code, n] : t.codes) all.codes[code] += n;
    all.transportErrors += t.transportErrors;
  }
  std::sort(all.ms.begin(), all.ms.end());
  std::size_t fivexx = 0;
  std::string codes;
  for (auto [code, n] : all.codes) {
    if (code >= 500) fivexx += n;
    if (!codes.empty()) codes.append(",");
    codes.append("\"").append(std::to_string(code)).append("\":").append(std::to_string(n));
  }
  char buf[512];
  std::snprintf(buf, sizeof buf,
                R"({"mode":"%s","requests":%zu,"seconds":%.3f,"rate":%.1f,"p50_ms":%.3f,)"
                R"("p90_ms":%.3f,"p99_ms":%.3f,"max_ms":%.3f,"5xx":%zu,"transport_errors":%zu,)",
                mode, all.ms.size(), seconds, static_cast<double>(all.ms.size()) / seconds,
                percentile(all.ms, 0.5), percentile(all.ms, 0.9), percentile(all.ms, 0.99),
                all.ms.empty() ? 0.0 : all.ms.back(), fivexx, all.transportErrors);
  std::string out = buf;
  out.append("\"codes\":{").append(codes).append("}}");
  return out;
}

// Runs `op(connection, i)` on `connections` threads; each thread claims indexes from a
// shared counter until `stop(i)` says so. Returns the JSON figures.
template <typename Op, typename Stop>
std::string drive(const char* mode, const Target& t, int connections, Op op, Stop stop) {
  boost::asio::io_context io;
  auto tls = kite::bench::makeClientContext(t.tls);
  std::vector<Latencies> perThread(static_cast<std::size_t>(connections));
  std::vector<std::unique_ptr<HttpsConnection>> conns;
  conns.reserve(static_cast<std::size_t>(connections));
  for (int c = 0; c < connections; ++c) {
    conns.push_back(std::make_unique<HttpsConnection>(io, tls, t.host, t.port));
    // Handshake before the clock starts, as wrk does.
    conns.back()->request(verb::get, "/version");
  }
  std::atomic<std::int64_t> next{0};
  std::vector<std::thread> threads;
  threads.reserve(static_cast<std::size_t>(connections));
  const auto start = Clock::now();
  for (int c = 0; c < connections; ++c) {
    threads.emplace_back([&, c] {
      auto& mine = perThread[static_cast<std::size_t>(c)];
      auto& conn = *conns[static_cast<std::size_t>(c)];
      for (std::int64_t i = next.fetch_add(1); !stop(i); i = next.fetch_add(1)) {
        const auto before = Clock::now();
        try {
          const int code = op(conn, i);
          mine.codes[code] += 1;
        } catch (const boost::system::system_error&) {
          mine.transportErrors += 1;
        }
        mine.ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - before).count());
      }
    });
  }
  for (auto& th : threads) th.join();
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return figuresJson(mode, perThread, seconds);
}

std::string listRuns(const Target& t, const std::string& target, int runs) {
  boost::asio::io_context io;
  auto tls = kite::bench::makeClientContext(t.tls);
  HttpsConnection conn(io, tls, t.host, t.port);
  conn.request(verb::get, "/version");
  std::string times;
  kite::bench::Reply last;
  for (int r = 0; r < runs; ++r) {
    const auto before = Clock::now();
    last = conn.request(verb::get, target);
    const double ms = std::chrono::duration<double, std::milli>(Clock::now() - before).count();
    if (!times.empty()) times.append(",");
    times.append(std::to_string(ms));
  }
  rapidjson::Document doc;
  doc.Parse(last.body.data(), last.body.size());
  std::size_t items = 0;
  if (!doc.HasParseError() && doc.IsObject() && doc.HasMember("items") && doc["items"].IsArray()) {
    items = doc["items"].Size();
  }
  std::string out = R"({"mode":"list","status":)";
  out.append(std::to_string(last.status))
      .append(R"(,"bytes":)")
      .append(std::to_string(last.body.size()))
      .append(R"(,"items":)")
      .append(std::to_string(items))
      .append(R"(,"ms":[)")
      .append(times)
      .append("]}");
  return out;
}

std::string listRevision(HttpsConnection& conn, const std::string& ns) {
  auto reply = conn.request(verb::get, "/api/v1/namespaces/" + ns + "/pods?limit=1");
  rapidjson::Document doc;
  doc.Parse(reply.body.data(), reply.body.size());
  if (reply.status != 200 || doc.HasParseError() || !doc.IsObject() || !doc.HasMember("metadata") ||
      !doc["metadata"].HasMember("resourceVersion")) {
    throw std::runtime_error("list of pods in " + ns + " failed: " + std::to_string(reply.status) +
                             " " + reply.body.substr(0, 200));
  }
  return doc["metadata"]["resourceVersion"].GetString();
}

std::string fanout(const Target& t, const std::string& ns, int watchers, int events,
                   const std::string& prefix) {
  boost::asio::io_context io;
  auto tls = kite::bench::makeClientContext(t.tls);
  HttpsConnection writer(io, tls, t.host, t.port);
  const std::string rv = listRevision(writer, ns);
  const std::string target = "/api/v1/namespaces/" + ns + "/pods?watch=true&resourceVersion=" + rv;
  kite::bench::WatchFanout fan(tls, t.host, t.port, target, watchers, events, prefix);
  const auto openStart = Clock::now();
  fan.open(std::chrono::seconds(120));
  const double openMs = std::chrono::duration<double, std::milli>(Clock::now() - openStart).count();

  std::vector<Clock::time_point> sent(static_cast<std::size_t>(events));
  std::size_t writeErrors = 0;
  const auto writeStart = Clock::now();
  for (int i = 0; i < events; ++i) {
    const std::string name = prefix + std::to_string(i);
    sent[static_cast<std::size_t>(i)] = Clock::now();
    auto reply =
        writer.request(verb::post, "/api/v1/namespaces/" + ns + "/pods", podJson(ns, name));
    if (reply.status != 201) ++writeErrors;
  }
  const auto writeEnd = Clock::now();
  const bool complete = fan.waitAll(std::chrono::seconds(120));
  fan.stop();

  std::vector<double> lag;
  Clock::time_point lastAll{};
  int minDeliveries = watchers;
  for (int i = 0; i < events; ++i) {
    const auto k = static_cast<std::size_t>(i);
    minDeliveries = std::min(minDeliveries, fan.deliveries()[k]);
    if (fan.deliveries()[k] == 0) continue;
    lastAll = std::max(lastAll, fan.lastDelivery()[k]);
    lag.push_back(
        std::chrono::duration<double, std::milli>(fan.lastDelivery()[k] - sent[k]).count());
  }
  std::sort(lag.begin(), lag.end());
  const auto ms = [](auto d) { return std::chrono::duration<double, std::milli>(d).count(); };
  char buf[768];
  std::snprintf(
      buf, sizeof buf,
      R"({"mode":"fanout","watchers":%d,"events":%d,"expected":%zu,"delivered":%zu,)"
      R"("complete":%s,"min_deliveries_per_event":%d,"failed_watchers":%zu,"write_errors":%zu,)"
      R"("open_ms":%.1f,"write_ms":%.1f,"span_ms":%.1f,"lag_p50_ms":%.3f,"lag_p99_ms":%.3f,)"
      R"("lag_max_ms":%.3f})",
      watchers, events, static_cast<std::size_t>(watchers) * static_cast<std::size_t>(events),
      fan.delivered(), complete ? "true" : "false", minDeliveries, fan.failedWatchers(),
      writeErrors, openMs, ms(writeEnd - writeStart),
      lastAll == Clock::time_point{} ? 0.0 : ms(lastAll - writeStart), percentile(lag, 0.5),
      percentile(lag, 0.99), lag.empty() ? 0.0 : lag.back());
  return buf;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"HTTPS load generator for kite's API server benchmark"};
  Target t;
  app.add_option("--host", t.host, "API server address")->capture_default_str();
  app.add_option("--port", t.port, "API server port")->required();
  app.add_option("--ca", t.tls.caFile, "CA certificate (PEM)")->required();
  app.add_option("--cert", t.tls.certFile, "client certificate (PEM)")->required();
  app.add_option("--key", t.tls.keyFile, "client key (PEM)")->required();
  app.require_subcommand(1);

  std::string ns = "bench";
  std::string prefix = "pod-";
  int connections = 64;
  std::int64_t count = 10000;
  double seconds = 10;
  std::string name;
  std::string listTarget;
  int runs = 5;
  int watchers = 500;
  int events = 200;

  auto* create = app.add_subcommand("create", "create pods with distinct names");
  create->add_option("--namespace", ns)->capture_default_str();
  create->add_option("--prefix", prefix, "name prefix; the index follows")->capture_default_str();
  create->add_option("--count", count)->capture_default_str();
  create->add_option("--connections", connections)->capture_default_str();

  auto* get = app.add_subcommand("get", "get one pod repeatedly");
  get->add_option("--namespace", ns)->capture_default_str();
  get->add_option("--name", name)->required();
  get->add_option("--seconds", seconds)->capture_default_str();
  get->add_option("--connections", connections)->capture_default_str();

  auto* list = app.add_subcommand("list", "full lists, one after another");
  list->add_option("--target", listTarget, "URL path, e.g. /api/v1/namespaces/bench/pods")
      ->required();
  list->add_option("--runs", runs)->capture_default_str();

  auto* fan = app.add_subcommand("fanout", "watchers, then creates; count deliveries");
  fan->add_option("--namespace", ns)->capture_default_str();
  fan->add_option("--prefix", prefix)->capture_default_str();
  fan->add_option("--watchers", watchers)->capture_default_str();
  fan->add_option("--events", events)->capture_default_str();

  CLI11_PARSE(app, argc, argv);
  try {
    std::string out;
    if (*create) {
      const std::string path = "/api/v1/namespaces/" + ns + "/pods";
      out = drive(
          "create", t, connections,
          [&](HttpsConnection& c, std::int64_t i) {
            return c.request(verb::post, path, podJson(ns, prefix + std::to_string(i))).status;
          },
          [&](std::int64_t i) { return i >= count; });
    } else if (*get) {
      const std::string path = "/api/v1/namespaces/" + ns + "/pods/" + name;
      const auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                               std::chrono::duration<double>(seconds));
      out = drive(
          "get", t, connections,
          [&](HttpsConnection& c, std::int64_t) { return c.request(verb::get, path).status; },
          [&](std::int64_t) { return Clock::now() >= deadline; });
    } else if (*list) {
      out = listRuns(t, listTarget, runs);
    } else if (*fan) {
      out = fanout(t, ns, watchers, events, prefix);
    }
    std::printf("%s\n", out.c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_apiserver_load: %s\n", e.what());
    return 1;
  }
  return 0;
}
