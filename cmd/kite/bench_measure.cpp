// Connect latency, kernel memory and RSS for `kite bench proxy` (bench_measure.h).

#include "bench_measure.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>

#include "bench_network.h"

namespace kite::cmd::bench {

namespace {

// One connect; its duration in µs, or a negative value when it failed.
double timedConnect(const std::string& ip, int port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  // A blocking connect that gives up after a second instead of the kernel's minutes.
  const timeval timeout{.tv_sec = 1, .tv_usec = 0};
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
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

// Moves the calling process into `cgroup` ("" leaves it) and the calling thread into the
// network namespace at `nsPath`; for forked children only. False when either failed.
bool enter(const std::string& cgroup, const std::string& nsPath) {
  if (!cgroup.empty()) {
    std::ofstream procs(cgroup + "/cgroup.procs");
    procs << getpid() << std::flush;
    if (!procs) return false;
  }
  const int ns = open(nsPath.c_str(), O_RDONLY | O_CLOEXEC);
  const bool entered = ns >= 0 && setns(ns, CLONE_NEWNET) == 0;
  if (ns >= 0) close(ns);
  return entered;
}

// Reads `fd` to its end.
std::string readAll(int fd) {
  std::string out;
  std::array<char, 4096> buffer{};
  for (;;) {
    const ssize_t n = read(fd, buffer.data(), buffer.size());
    if (n > 0) {
      out.append(buffer.data(), static_cast<std::size_t>(n));
    } else if (n == 0 || errno != EINTR) {
      return out;
    }
  }
}

int waitFor(pid_t pid) {
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

// The number after `label` in `text`, or `fallback` when it is not there.
double numberAfter(const std::string& text, const std::string& label, double fallback) {
  const auto at = text.find(label);
  if (at == std::string::npos) return fallback;
  return std::strtod(text.c_str() + at + label.size(), nullptr);
}

}  // namespace

ConnectLatency measureConnects(const BenchNetwork& network, int services, int count,
                               std::uint32_t seed, const ConnectOptions& options) {
  network.forgetConnections();
  const std::string clientNsPath = network.clientPath();
  std::array<int, 2> results{};
  if (pipe2(results.data(), O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  const pid_t child = fork();
  if (child == 0) {
    close(results[0]);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (!enter(options.cgroup, clientNsPath)) _exit(2);
    std::mt19937 random(seed);
    std::uniform_int_distribution<int> pick(0, services - 1);
    std::mt19937 spread(seed + 1);
    std::uniform_int_distribution<int> endpoint(0, options.endpoints - 1);
    const auto target = [&](int service) {
      return options.direct ? endpointIPOf(service * options.endpoints + endpoint(spread))
                            : clusterIPOf(service);
    };
    const int port = options.direct ? kBackendPort : kServicePort;
    // Warm-up: neighbour entries and the first conntrack/NAT work are not what we time.
    for (int i = 0; i < 20; ++i) timedConnect(target(pick(random)), port);
    std::vector<double> samples;
    samples.reserve(static_cast<std::size_t>(count));
    for (int i = 0; i < count; ++i) {
      const double us = timedConnect(target(pick(random)), port);
      if (us >= 0) samples.push_back(us);
    }
    const std::array<double, 3> summary{static_cast<double>(samples.size()),
                                        percentile(samples, 50), percentile(samples, 99)};
    const bool written =
        write(results[1], summary.data(), sizeof summary) == static_cast<ssize_t>(sizeof summary);
    _exit(written ? 0 : 3);
  }
  close(results[1]);
  if (child < 0) {
    close(results[0]);
    throw std::runtime_error("fork failed");
  }
  const std::string bytes = readAll(results[0]);
  close(results[0]);
  const int status = waitFor(child);
  std::array<double, 3> summary{};
  if (status != 0 || bytes.size() != sizeof summary) {
    throw std::runtime_error("the connecting process failed (exit " + std::to_string(status) +
                             "): cannot enter " + clientNsPath +
                             (options.cgroup.empty() ? "" : " or cgroup " + options.cgroup));
  }
  std::copy_n(bytes.data(), sizeof summary, reinterpret_cast<char*>(summary.data()));
  ConnectLatency result;
  result.attempted = count;
  result.succeeded = static_cast<int>(summary[0]);
  result.p50Us = summary[1];
  result.p99Us = summary[2];
  return result;
}

bool haveWrk() { return std::system("command -v wrk >/dev/null 2>&1") == 0; }

WrkResult runWrk(const std::string& clientNsPath, const std::string& cgroup, const std::string& url,
                 int seconds, int connections) {
  std::array<int, 2> output{};
  if (pipe2(output.data(), O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  const std::string duration = std::to_string(seconds) + "s";
  const std::string conns = std::to_string(connections);
  const pid_t child = fork();
  if (child == 0) {
    close(output[0]);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    // Into the cgroup after the fork and before the exec: wrk's first socket is already
    // inside it.
    if (!enter(cgroup, clientNsPath)) _exit(126);
    dup2(output[1], STDOUT_FILENO);
    dup2(output[1], STDERR_FILENO);
    std::array<const char*, 12> argv{"wrk",
                                     "-t",
                                     "2",
                                     "-c",
                                     conns.c_str(),
                                     "-d",
                                     duration.c_str(),
                                     "-H",
                                     "Connection: close",
                                     url.c_str(),
                                     nullptr};
    execvp("wrk", const_cast<char* const*>(argv.data()));
    _exit(127);
  }
  close(output[1]);
  if (child < 0) {
    close(output[0]);
    throw std::runtime_error("fork failed");
  }
  const std::string text = readAll(output[0]);
  close(output[0]);
  const int status = waitFor(child);
  if (status != 0 || text.find("Requests/sec:") == std::string::npos) {
    throw std::runtime_error("wrk " + url + " failed (exit " + std::to_string(status) +
                             "): " + text);
  }
  WrkResult result;
  result.requestsPerSecond = numberAfter(text, "Requests/sec:", 0);
  // "  12345 requests in 3.00s, ..." : the number before " requests in".
  const auto in = text.find(" requests in");
  if (in != std::string::npos) {
    const auto start = text.find_last_not_of("0123456789", in - 1);
    result.requests =
        std::strtoll(text.c_str() + (start == std::string::npos ? 0 : start + 1), nullptr, 10);
  }
  const auto errorsAt = text.find("Socket errors:");
  if (errorsAt != std::string::npos) {
    const std::string line = text.substr(errorsAt, text.find('\n', errorsAt) - errorsAt);
    for (const char* kind : {"connect ", "read ", "write ", "timeout "}) {
      result.errors += static_cast<long long>(numberAfter(line, kind, 0));
    }
  }
  result.errors += static_cast<long long>(numberAfter(text, "Non-2xx or 3xx responses:", 0));
  return result;
}

WrkResult runWrkMedian(const BenchNetwork& network, const std::string& cgroup,
                       const std::string& url, int seconds, int connections, int runs) {
  std::vector<WrkResult> results;
  long long errors = 0;
  for (int r = 0; r < runs; ++r) {
    network.forgetConnections();
    results.push_back(runWrk(network.clientPath(), cgroup, url, seconds, connections));
    errors += results.back().errors;
  }
  std::sort(results.begin(), results.end(), [](const WrkResult& a, const WrkResult& b) {
    return a.requestsPerSecond < b.requestsPerSecond;
  });
  WrkResult median = results[(results.size() - 1) / 2];
  median.errors = errors;
  return median;
}

double bpfMapMemoryKiB(const std::string& pinDir) {
  double total = 0;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(pinDir, error)) {
    const int fd = bpf_obj_get(entry.path().c_str());
    if (fd < 0) continue;
    std::ifstream fdinfo("/proc/self/fdinfo/" + std::to_string(fd));
    bool isMap = false;
    double memlock = 0;
    for (std::string line; std::getline(fdinfo, line);) {
      if (line.starts_with("map_type:")) isMap = true;
      if (line.starts_with("memlock:")) memlock = std::strtod(line.c_str() + 8, nullptr);
    }
    close(fd);
    if (isMap) total += memlock / 1024.0;
  }
  return total;
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
