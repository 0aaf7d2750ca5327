// Scheduler throughput: a real `kite server` (started like the client tests do; the
// server's own scheduler off), N Node objects and P pending pods created first, then kite's
// scheduler started in this process. Pods scheduled per second counts from the first binding
// to the last as a watch on pods sees them. Median over a few runs, per node count.
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "../../tests/client/test_server.h"
#include "kite/api/core/v1/types.h"
#include "kite/client/client.h"
#include "kite/controlplane/scheduler.h"

namespace {

namespace corev1 = kite::api::core::v1;
using kite::api::Quantity;
using Clock = std::chrono::steady_clock;

// Runs fn(i) for i in [0, n) on `threads` threads.
template <class Fn>
void parallel(int n, int threads, Fn fn) {
  std::atomic<int> next{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      for (int i = next++; i < n; i = next++) fn(i);
    });
  }
  for (auto& t : pool) t.join();
}

corev1::Node node(int i) {
  corev1::Node n;
  n.metadata.name = "node-" + std::to_string(i);
  n.metadata.labels["kubernetes.io/hostname"] = n.metadata.name;
  n.status.allocatable = {{"cpu", Quantity::parse("32")},
                          {"memory", Quantity::parse("128Gi")},
                          {"pods", Quantity::parse("250")}};
  n.status.capacity = n.status.allocatable;
  return n;
}

corev1::Pod pod(int i) {
  corev1::Pod p;
  p.metadata.name = "pod-" + std::to_string(i);
  p.metadata.namespace_ = "default";
  p.metadata.labels["app"] = "bench-" + std::to_string(i % 10);
  corev1::Container c;
  c.name = "app";
  c.image = "nginx:1.22.1";
  c.resources.requests = {{"cpu", Quantity::parse("10m")}, {"memory", Quantity::parse("16Mi")}};
  p.spec.containers.push_back(c);
  return p;
}

struct RunResult {
  double podsPerSecond = 0;
  std::size_t scheduled = 0;
  double seconds = 0;
};

RunResult runOnce(int nodes, int pods) {
  kite::client::testing::TestServer server;
  server.start();
  kite::client::Client client(server.config());
  parallel(nodes, 8, [&](int i) {
    auto created = client.create(node(i));
    if (created.status.allocatable.empty()) {
      created.status = node(i).status;
      client.updateStatus(created);
    }
  });
  parallel(pods, 8, [&](int i) { client.create(pod(i)); });
  const auto list =
      client.listRaw(kite::client::resourceOf<corev1::Pod>(), "default", {.limit = 1});

  auto watch = client.watchRaw(kite::client::resourceOf<corev1::Pod>(), "default",
                               {.resourceVersion = list.resourceVersion});
  kite::controlplane::Scheduler scheduler(client, {.leaderElect = false});
  scheduler.start();
  std::set<std::string> bound;
  Clock::time_point first{};
  Clock::time_point last{};
  const auto deadline = Clock::now() + std::chrono::seconds(120);
  while (static_cast<int>(bound.size()) < pods && Clock::now() < deadline) {
    auto e = watch->next(std::chrono::milliseconds(500));
    if (!e) {
      if (watch->closed()) break;
      continue;
    }
    // A bound pod carries "nodeName" in its spec; cheap to find without decoding.
    if (e->object.find("\"nodeName\":\"") == std::string::npos) continue;
    const auto at = e->object.find("\"name\":\"");
    const auto end = e->object.find('"', at + 8);
    if (!bound.insert(e->object.substr(at + 8, end - at - 8)).second) continue;
    last = Clock::now();
    if (bound.size() == 1) first = last;
  }
  scheduler.stop();
  watch->stop();
  RunResult r;
  r.scheduled = bound.size();
  r.seconds = std::chrono::duration<double>(last - first).count();
  if (bound.size() > 1 && r.seconds > 0) {
    r.podsPerSecond = static_cast<double>(bound.size() - 1) / r.seconds;
  }
  return r;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"kite scheduler throughput against a real kite server"};
  std::vector<int> nodeCounts{100, 1000};
  int pods = 10'000;
  int runs = 3;
  app.add_option("--nodes", nodeCounts, "node counts to measure")->capture_default_str();
  app.add_option("--pods", pods, "pending pods per run")->capture_default_str();
  app.add_option("--runs", runs, "runs per node count (median reported)")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  spdlog::set_level(spdlog::level::warn);

  std::printf("%-7s %-7s %-6s %-28s %s\n", "nodes", "pods", "runs", "pods/s per run",
              "median pods/s");
  for (int nodes : nodeCounts) {
    std::vector<double> rates;
    std::string perRun;
    for (int r = 0; r < runs; ++r) {
      const RunResult result = runOnce(nodes, pods);
      if (static_cast<int>(result.scheduled) < pods) {
        std::fprintf(stderr, "run %d with %d nodes: only %zu of %d pods scheduled\n", r, nodes,
                     result.scheduled, pods);
      }
      rates.push_back(result.podsPerSecond);
      perRun += (perRun.empty() ? "" : " ") + std::to_string(std::lround(result.podsPerSecond));
    }
    std::printf("%-7d %-7d %-6d %-28s %.0f\n", nodes, pods, runs, perRun.c_str(), median(rates));
    std::fflush(stdout);
  }
  return 0;
}
