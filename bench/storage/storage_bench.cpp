// Throughput and latency of the SQLite store: creates with 1, 8 and 64 concurrent writers
// (group commit shares one fsync among a batch) and gets with 1 and 8 readers. Prints a
// table. Run it on the disk the store will live on: fsync cost is what it measures.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "kite/controlplane/sqlite_store.h"

namespace {

using kite::controlplane::openSqliteStore;
using kite::controlplane::SqliteStore;
using kite::controlplane::SqliteStoreOptions;
using Clock = std::chrono::steady_clock;

struct Figures {
  std::size_t ops = 0;
  double perSecond = 0;
  double medianMs = 0;
  double p99Ms = 0;
};

// Runs `op(thread, i)` on `threads` threads until `duration` passed; latencies per call.
template <typename Op>
Figures measure(int threads, std::chrono::milliseconds duration, Op op) {
  std::vector<std::vector<double>> latencies(static_cast<std::size_t>(threads));
  std::vector<std::thread> workers;
  workers.reserve(static_cast<std::size_t>(threads));
  std::atomic<bool> go{false};
  const auto start = Clock::now();
  const auto deadline = start + duration;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      while (!go.load()) {
        std::this_thread::yield();
      }
      auto& mine = latencies[static_cast<std::size_t>(t)];
      for (int i = 0; Clock::now() < deadline; ++i) {
        auto before = Clock::now();
        op(t, i);
        mine.push_back(std::chrono::duration<double, std::milli>(Clock::now() - before).count());
      }
    });
  }
  go = true;
  for (auto& worker : workers) {
    worker.join();
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  std::vector<double> all;
  for (auto& mine : latencies) {
    all.insert(all.end(), mine.begin(), mine.end());
  }
  Figures figures;
  figures.ops = all.size();
  if (all.empty()) {
    return figures;
  }
  std::sort(all.begin(), all.end());
  figures.perSecond = static_cast<double>(all.size()) / seconds;
  figures.medianMs = all[all.size() / 2];
  figures.p99Ms = all[std::min(all.size() - 1, all.size() * 99 / 100)];
  return figures;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"kite storage benchmark: SQLite store creates/s and gets/s"};
  std::string dir = "/var/tmp";
  int seconds = 3;
  std::size_t valueBytes = 1024;
  app.add_option("--dir", dir, "directory for the database files (the disk to measure)");
  app.add_option("--seconds", seconds, "duration of each measurement");
  app.add_option("--value-bytes", valueBytes, "size of each value");
  CLI11_PARSE(app, argc, argv);

  std::string pattern = (std::filesystem::path(dir) / "kite-bench-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) {
    std::fprintf(stderr, "cannot create a directory under %s\n", dir.c_str());
    return 1;
  }
  const std::filesystem::path work = pattern;
  const std::string value(valueBytes, 'v');
  const std::chrono::milliseconds duration{std::chrono::seconds{seconds}};

  std::printf("%-22s %10s %12s %11s %11s %14s\n", "operation", "ops", "ops/s", "median ms",
              "p99 ms", "writes/commit");
  for (int writers : {1, 8, 64}) {
    SqliteStoreOptions options;
    std::string name = "creates-";
    name.append(std::to_string(writers)).append(".db");
    options.path = work / name;
    auto store = openSqliteStore(options);
    Figures figures = measure(writers, duration, [&](int t, int i) {
      std::string key = "/registry/pods/bench/";
      key.append(std::to_string(t)).append("-").append(std::to_string(i));
      store->create(key, value);
    });
    auto stats = dynamic_cast<SqliteStore&>(*store).stats();
    double perCommit = stats.transactions == 0 ? 0
                                               : static_cast<double>(stats.writes) /
                                                     static_cast<double>(stats.transactions);
    std::string label = "create, ";
    label.append(std::to_string(writers)).append(" writers");
    std::printf("%-22s %10zu %12.0f %11.3f %11.3f %14.1f\n", label.c_str(), figures.ops,
                figures.perSecond, figures.medianMs, figures.p99Ms, perCommit);
  }

  {
    SqliteStoreOptions options;
    options.path = work / "gets.db";
    auto store = openSqliteStore(options);
    constexpr int kKeys = 10000;
    // Load with many writers so the load itself is quick (group commit).
    std::vector<std::thread> loaders;
    loaders.reserve(16);
    for (int t = 0; t < 16; ++t) {
      loaders.emplace_back([&, t] {
        for (int i = t; i < kKeys; i += 16) {
          store->create("/registry/pods/bench/" + std::to_string(i), value);
        }
      });
    }
    for (auto& loader : loaders) {
      loader.join();
    }
    for (int readers : {1, 8}) {
      Figures figures = measure(readers, duration, [&](int t, int i) {
        store->get("/registry/pods/bench/" + std::to_string((i * 7919 + t * 104729) % kKeys));
      });
      std::string label = "get, ";
      label.append(std::to_string(readers)).append(" readers");
      std::printf("%-22s %10zu %12.0f %11.3f %11.3f %14s\n", label.c_str(), figures.ops,
                  figures.perSecond, figures.medianMs, figures.p99Ms, "-");
    }
  }
  std::error_code ignored;
  std::filesystem::remove_all(work, ignored);
  return 0;
}
