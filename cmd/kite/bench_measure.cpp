// Connect latency, kernel memory and RSS for `kite bench proxy` (bench_measure.h).

#include "bench_measure.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <exception>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include "bench_network.h"

namespace kite::cmd::bench {

namespace {

// One connect; its duration in µs, or a negative value when it failed.
double timedConnect(const std::string& ip) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  // A blocking connect that gives up after a second instead of the kernel's minutes.
  const timeval timeout{.tv_sec = 1, .tv_usec = 0};
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(kServicePort);
  inet_pton(AF_INET, ip.c_str(), &address.sin_addr);
  const auto start = std::chrono::steady_clock::now();
  const int rc = connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address);
  const auto end = std::chrono::steady_clock::now();
  // Reset instead of FIN: no TIME_WAIT piles up over thousands of samples.
  const linger reset{.l_onoff = 1, .l_linger = 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
  close(fd);
  if (rc != 0) return -1;
  return std::chrono::duration<double, std::micro>(end - start).count();
}

}  // namespace

ConnectLatency measureConnects(const std::string& clientNsPath, int services, int count,
                               std::uint32_t seed) {
  ConnectLatency result;
  std::exception_ptr error;
  std::thread client([&] {
    try {
      const NetnsScope inClient(clientNsPath);
      std::mt19937 random(seed);
      std::uniform_int_distribution<int> pick(0, services - 1);
      // Warm-up: neighbour entries and the first conntrack/NAT work are not what we time.
      for (int i = 0; i < 20; ++i) timedConnect(clusterIPOf(pick(random)));
      std::vector<double> samples;
      samples.reserve(static_cast<std::size_t>(count));
      for (int i = 0; i < count; ++i) {
        const double us = timedConnect(clusterIPOf(pick(random)));
        if (us >= 0) samples.push_back(us);
      }
      result.attempted = count;
      result.succeeded = static_cast<int>(samples.size());
      result.p50Us = percentile(samples, 50);
      result.p99Us = percentile(samples, 99);
    } catch (...) {
      error = std::current_exception();
    }
  });
  client.join();
  if (error) std::rethrow_exception(error);
  return result;
}

double kernelMemoryKiB() {
  // Slab objects from /proc/slabinfo (exact counts; /proc/meminfo's Slab lags behind by
  // per-CPU batches of up to a second), vmalloc and per-CPU areas from /proc/meminfo.
  double total = 0;
  std::ifstream slabinfo("/proc/slabinfo");
  for (std::string line; std::getline(slabinfo, line);) {
    if (line.starts_with("slabinfo") || line.starts_with("#")) continue;
    std::istringstream fields(line);
    std::string name;
    double active = 0;
    double all = 0;
    double size = 0;
    fields >> name >> active >> all >> size;
    total += active * size / 1024.0;
  }
  std::ifstream meminfo("/proc/meminfo");
  for (std::string line; std::getline(meminfo, line);) {
    std::istringstream fields(line);
    std::string name;
    double kib = 0;
    fields >> name >> kib;
    if (name == "VmallocUsed:" || name == "Percpu:") total += kib;
  }
  return total;
}

double residentMiB() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    if (line.starts_with("VmRSS:")) {
      std::istringstream fields(line.substr(6));
      double kib = 0;
      fields >> kib;
      return kib / 1024.0;
    }
  }
  return 0;
}

double percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const auto rank =
      static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(values.size())));
  return values[std::clamp<std::size_t>(rank, 1, values.size()) - 1];
}

}  // namespace kite::cmd::bench
