// The namespaces of `kite bench proxy` (bench_network.h has the picture) and the one TCP
// server behind every endpoint address.

#include "bench_network.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string_view>

#include "kite/netlink/conntrack.h"

extern char** environ;

namespace kite::cmd::bench {

namespace {

std::string dotted(int first, int second, int index) {
  const int subnet = index / kPerSubnet;
  return std::to_string(first) + "." + std::to_string(second + subnet / 256) + "." +
         std::to_string(subnet % 256) + "." + std::to_string(index % kPerSubnet + 1);
}

std::string describe(const std::vector<std::string>& args) {
  std::string text;
  for (const auto& a : args) text += (text.empty() ? "" : " ") + a;
  return text;
}

// One connection of the server: the request of a `wrk` (everything up to the blank line) is
// answered with a tiny HTTP/1.1 response and the connection closed; a connect that sends
// nothing (the latency probes reset at once) is closed as soon as it is reset, or after a
// second of silence.
void answer(int connection) {
  const timeval timeout{.tv_sec = 1, .tv_usec = 0};
  setsockopt(connection, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  std::string request;
  std::array<char, 2048> buffer{};
  while (request.find("\r\n\r\n") == std::string::npos) {
    const ssize_t n = read(connection, buffer.data(), buffer.size());
    if (n <= 0) return;
    request.append(buffer.data(), static_cast<std::size_t>(n));
  }
  static constexpr std::string_view kResponse =
      "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n";
  if (send(connection, kResponse.data(), kResponse.size(), MSG_NOSIGNAL) < 0) return;
}

// The server: two worker processes accepting on one listener, forever, in the backends
// namespace. Runs in a forked child that dies with its parent.
[[noreturn]] void serve(const std::string& nsPath, int readyFd) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  const int ns = open(nsPath.c_str(), O_RDONLY | O_CLOEXEC);
  if (ns < 0 || setns(ns, CLONE_NEWNET) != 0) _exit(2);
  const int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const int on = 1;
  setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(kBackendPort);
  address.sin_addr.s_addr = htonl(INADDR_ANY);
  if (bind(listener, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0 ||
      listen(listener, 4096) != 0) {
    _exit(3);
  }
  // The second worker, dying with the first.
  const pid_t parent = getpid();
  if (fork() == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(0);
  } else {
    const char ready = 'r';
    if (write(readyFd, &ready, 1) != 1) _exit(4);
  }
  close(readyFd);
  for (;;) {
    const int connection = accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
    if (connection < 0) continue;
    answer(connection);
    close(connection);
  }
}

}  // namespace

std::string clusterIPOf(int index) { return dotted(10, 96, index); }
std::string endpointIPOf(int index) { return dotted(10, 128, index); }

void runProgram(const std::vector<std::string>& args) {
  std::vector<char*> argv;
  argv.reserve(args.size() + 1);
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = 0;
  if (posix_spawnp(&pid, argv[0], nullptr, nullptr, argv.data(), environ) != 0) {
    throw std::runtime_error("cannot run " + args[0] + ": " + std::strerror(errno));
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    throw std::runtime_error("failed: " + describe(args));
  }
}

BenchNetwork::BenchNetwork() {
  try {
    setUp();
  } catch (...) {
    tearDown();
    throw;
  }
}

BenchNetwork::~BenchNetwork() { tearDown(); }

void BenchNetwork::setUp() {
  const std::string id = "kite-bench-" + std::to_string(getpid());
  // Names are taken before the namespaces exist so that tearDown() removes a half-built set.
  node_ = id + "-node";
  client_ = id + "-client";
  backends_ = id + "-backends";
  const auto ip = [](std::vector<std::string> args) {
    args.insert(args.begin(), "ip");
    runProgram(args);
  };
  for (const auto* ns : {&node_, &client_, &backends_}) {
    ip({"netns", "add", *ns});
    ip({"-n", *ns, "link", "set", "lo", "up"});
  }
  ip({"-n", node_, "link", "add", "vclient", "type", "veth", "peer", "name", "eth0", "netns",
      client_});
  ip({"-n", node_, "link", "add", "vbackends", "type", "veth", "peer", "name", "eth0", "netns",
      backends_});
  ip({"-n", node_, "addr", "add", "10.99.0.1/24", "dev", "vclient"});
  ip({"-n", node_, "addr", "add", "10.98.0.1/24", "dev", "vbackends"});
  ip({"-n", node_, "link", "set", "vclient", "up"});
  ip({"-n", node_, "link", "set", "vbackends", "up"});
  ip({"-n", node_, "route", "add", kEndpointCidr, "via", "10.98.0.2"});
  runProgram({"ip", "netns", "exec", node_, "sysctl", "-qw", "net.ipv4.ip_forward=1"});
  ip({"-n", client_, "addr", "add", "10.99.0.2/24", "dev", "eth0"});
  ip({"-n", client_, "link", "set", "eth0", "up"});
  ip({"-n", client_, "route", "add", "default", "via", "10.99.0.1"});
  ip({"-n", backends_, "addr", "add", "10.98.0.2/24", "dev", "eth0"});
  ip({"-n", backends_, "link", "set", "eth0", "up"});
  ip({"-n", backends_, "route", "add", "default", "via", "10.98.0.1"});
  ip({"-n", backends_, "route", "add", "local", kEndpointCidr, "dev", "lo"});
  startServer();
}

void BenchNetwork::startServer() {
  std::array<int, 2> ready{};
  if (pipe2(ready.data(), O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  const std::string path = "/run/netns/" + backends_;
  server_ = fork();
  if (server_ == 0) {
    close(ready[0]);
    serve(path, ready[1]);
  }
  close(ready[1]);
  if (server_ < 0) {
    close(ready[0]);
    throw std::runtime_error("fork failed");
  }
  pollfd wait{.fd = ready[0], .events = POLLIN, .revents = 0};
  char byte = 0;
  const bool up = poll(&wait, 1, 10'000) == 1 && read(ready[0], &byte, 1) == 1;
  close(ready[0]);
  if (!up) throw std::runtime_error("the backends' TCP server did not start");
}

void BenchNetwork::tearDown() noexcept {
  if (server_ > 0) {
    kill(server_, SIGKILL);
    waitpid(server_, nullptr, 0);
    server_ = -1;
  }
  // Deleting a namespace removes its veths, routes and rules with it.
  for (const auto* ns : {&client_, &backends_, &node_}) {
    if (ns->empty()) continue;
    try {
      runProgram({"ip", "netns", "del", *ns});
    } catch (const std::exception&) {
      // Not created yet (setUp failed early): nothing to remove.
    }
  }
}

void BenchNetwork::forgetConnections() const {
  for (const auto* ns : {&client_, &backends_}) {
    // ss lists what it kills; a failure leaves only a slower next run.
    const std::string command =
        "ip netns exec " + *ns + " ss -K -t state time-wait >/dev/null 2>&1";
    static_cast<void>(std::system(command.c_str()));
  }
  const NetnsScope inNode(nodePath());
  netlink::Conntrack conntrack;
  conntrack.removeIf(AF_INET, [](const netlink::ConntrackEntry&) { return true; });
}

NetnsScope::NetnsScope(const std::string& path)
    : original_(open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC)) {
  if (original_ < 0) throw std::runtime_error("cannot open this thread's network namespace");
  const int target = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (target < 0 || setns(target, CLONE_NEWNET) != 0) {
    const std::string error = std::strerror(errno);
    if (target >= 0) close(target);
    close(original_);
    throw std::runtime_error("cannot enter network namespace " + path + ": " + error);
  }
  close(target);
}

NetnsScope::~NetnsScope() {
  setns(original_, CLONE_NEWNET);
  close(original_);
}

}  // namespace kite::cmd::bench
