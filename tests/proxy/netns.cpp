#include "netns.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace kite::proxy::testing {

namespace {

constexpr const char* kServer = R"(import socket, sys, threading
name, port, ready = sys.argv[1].encode(), int(sys.argv[2]), sys.argv[3]
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind(("0.0.0.0", port))
def udp():
    while True:
        data, addr = u.recvfrom(2048)
        u.sendto(name, addr)
threading.Thread(target=udp, daemon=True).start()
t = socket.socket()
t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
t.bind(("0.0.0.0", port))
t.listen(128)
open(ready, "w").close()
while True:
    c, _ = t.accept()
    try:
        c.sendall(name + b"\n")
    finally:
        c.close()
)";

}  // namespace

const char* const kEchoClient = R"(import socket, sys
proto, ip, port, n = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
sport, timeout, show_peer = int(sys.argv[5]), float(sys.argv[6]), sys.argv[7] == "1"
source = sys.argv[8] if len(sys.argv) > 8 else ""
for _ in range(n):
    try:
        if proto == "tcp" or proto == "tcp6":
            s = socket.create_connection(("::ffff:" + ip if proto == "tcp6" else ip, port), timeout=timeout,
                                         source_address=(source, 0) if source else None)
            peer = s.getpeername()
            data = s.recv(100)
        else:
            v6 = ":" in ip
            s = socket.socket(socket.AF_INET6 if v6 else socket.AF_INET, socket.SOCK_DGRAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((source or ("::" if v6 else "0.0.0.0"), sport))
            s.settimeout(timeout)
            if proto in ("udp", "udp-reconnect"):
                s.connect((ip, port))
                s.send(b"x")
                peer = s.getpeername()
                data = s.recv(100)
                if proto == "udp-reconnect":  # moves on to a peer that is no Service
                    s.connect(("::1" if v6 else "127.0.0.1", 9))
            else:
                s.sendto(b"x", (ip, port))
                data, peer = s.recvfrom(100)
        answer = data.decode().strip()
        print(answer + " %s:%d" % (peer[0], peer[1]) if show_peer else answer)
        s.close()
    except ConnectionRefusedError:
        print("REFUSED")
    except socket.timeout:
        print("TIMEOUT")
    except OSError as e:
        print("ERR", e.errno)
    sys.stdout.flush()
)";

void sh(const std::string& command) {
  if (std::system(command.c_str()) != 0) throw std::runtime_error("failed: " + command);
}

void inNamespace(const std::string& ns, const std::function<void()>& fn) {
  std::exception_ptr error;
  std::thread t([&] {
    try {
      const int fd = open(("/run/netns/" + ns).c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) throw std::runtime_error("open netns " + ns);
      const int rc = setns(fd, CLONE_NEWNET);
      close(fd);
      if (rc != 0) throw std::runtime_error("setns " + ns);
      fn();
    } catch (...) {
      error = std::current_exception();
    }
  });
  t.join();
  if (error) std::rethrow_exception(error);
}

std::string capture(const std::string& command) {
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) throw std::runtime_error("popen failed: " + command);
  std::string out;
  std::array<char, 4096> buf{};
  while (const auto n = fread(buf.data(), 1, buf.size(), pipe)) out.append(buf.data(), n);
  pclose(pipe);
  return out;
}

pid_t spawn(const std::vector<std::string>& args) {
  std::vector<char*> argv;
  argv.reserve(args.size() + 1);
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  // The servers' output goes nowhere: they must not hold the test's stdout open.
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  pid_t pid = 0;
  const int rc = posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    throw std::runtime_error("cannot start " + args[0]);
  }
  return pid;
}

void addNamespace(const std::string& ns, bool dualStack) {
  sh("ip netns add " + ns);
  sh("ip -n " + ns + " link set lo up");
  if (!dualStack) return;
  // No duplicate address detection on any link, link-local addresses included (set before the
  // links are made, as they copy the defaults).
  sh("ip netns exec " + ns + " sysctl -qw net.ipv6.conf.all.accept_dad=0");
  sh("ip netns exec " + ns + " sysctl -qw net.ipv6.conf.default.accept_dad=0");
}

const char* const kDualStackEchoServer = R"(import socket, sys, threading
name, port, ready = sys.argv[1].encode(), int(sys.argv[2]), sys.argv[3]
u = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
u.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
u.bind(("::", port))
def udp():
    while True:
        data, addr = u.recvfrom(2048)
        u.sendto(name, addr)
threading.Thread(target=udp, daemon=True).start()
t = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
t.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
t.bind(("::", port))
t.listen(128)
open(ready, "w").close()
while True:
    c, _ = t.accept()
    try:
        c.sendall(name + b"\n")
    finally:
        c.close()
)";

TestNetwork::TestNetwork(int pods, int port, const NetworkOptions& options) {
  try {
    setUp(pods, port, options);
  } catch (...) {
    tearDown();
    throw;
  }
}

void TestNetwork::setUp(int pods, int port, const NetworkOptions& options) {
  const bool dualStack = options.dualStack;
  std::string tmpl = (std::filesystem::temp_directory_path() / "kite-proxy-XXXXXX").string();
  if (mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  dir_ = tmpl;
  std::ofstream(dir_ + "/server.py") << (dualStack ? kDualStackEchoServer : kServer);
  std::ofstream(dir_ + "/client.py") << kEchoClient;

  static int instances = 0;
  const std::string id = std::to_string(getpid()) + "-" + std::to_string(instances++);
  node_ = "kp-" + id + "-node";
  client_ = "kp-" + id + "-client";
  addNamespace(node_, dualStack);
  addNamespace(client_, dualStack);
  sh("ip netns exec " + node_ + " sysctl -qw net.ipv4.ip_forward=1");
  sh("ip -n " + node_ + " link add vcl type veth peer name eth0 netns " + client_);
  sh("ip -n " + node_ + " addr add 10.99.0.1/24 dev vcl");
  sh("ip -n " + node_ + " link set vcl up");
  // A real node has a default route: traffic to an unknown address leaves through it (here
  // into a veth nobody answers on) instead of failing in the routing lookup.
  if (options.defaultRoute) {
    sh("ip -n " + node_ + " link add up0 type veth peer name up1");
    sh("ip -n " + node_ + " link set up1 up");
    sh("ip -n " + node_ + " link set up0 up");
    sh("ip -n " + node_ + " route add default dev up0");
  }
  sh("ip -n " + client_ + " addr add 10.99.0.2/24 dev eth0");
  sh("ip -n " + client_ + " link set eth0 up");
  sh("ip -n " + client_ + " route add default via 10.99.0.1");
  const auto addPod = [&](int i) {
    const std::string ns = "kp-" + id + "-pod-" + podName(i);
    const std::string veth = "vp" + podName(i);
    const std::string net = "10.42." + std::to_string(i + 1);
    pods_.push_back(ns);
    addNamespace(ns, dualStack);
    sh("ip -n " + node_ + " link add " + veth + " type veth peer name eth0 netns " + ns);
    sh("ip -n " + node_ + " addr add " + net + ".1/24 dev " + veth);
    sh("ip -n " + node_ + " link set " + veth + " up");
    sh("ip -n " + ns + " addr add " + net + ".2/24 dev eth0");
    sh("ip -n " + ns + " link set eth0 up");
    sh("ip -n " + ns + " route add default via " + net + ".1");
  };
  for (int i = 0; i < pods; ++i) addPod(i);
  if (dualStack) addIPv6(pods, options.defaultRoute);
  for (int i = 0; i < pods; ++i) {
    servers_.push_back(spawn({"ip", "netns", "exec", pods_.at(static_cast<std::size_t>(i)),
                              "/usr/bin/python3", dir_ + "/server.py", podName(i),
                              std::to_string(port), dir_ + "/ready-" + podName(i)}));
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  for (int i = 0; i < pods; ++i) {
    while (!std::filesystem::exists(dir_ + "/ready-" + podName(i))) {
      if (std::chrono::steady_clock::now() > deadline) throw std::runtime_error("servers not up");
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
}

// The IPv6 half of a dual-stack network, on the links setUp made (nodad: usable at once).
void TestNetwork::addIPv6(int pods, bool defaultRoute) {
  sh("ip netns exec " + node_ + " sysctl -qw net.ipv6.conf.all.forwarding=1");
  const auto address = [](const std::string& ns, const std::string& cidr, const std::string& dev) {
    sh("ip -n " + ns + " -6 addr add " + cidr + " dev " + dev + " nodad");
  };
  const auto route = [](const std::string& ns, const std::string& via) {
    sh("ip -n " + ns + " -6 route add default " + via);
  };
  address(node_, "fd00:99::1/64", "vcl");
  if (defaultRoute) route(node_, "dev up0");
  address(client_, "fd00:99::2/64", "eth0");
  route(client_, "via fd00:99::1");
  for (int i = 0; i < pods; ++i) {
    const std::string net = "fd00:42:" + std::to_string(i + 1) + "::";
    const std::string& ns = pods_.at(static_cast<std::size_t>(i));
    address(node_, net + "1/64", "vp" + podName(i));
    address(ns, net + "2/64", "eth0");
    route(ns, "via " + net + "1");
  }
}

TestNetwork::~TestNetwork() { tearDown(); }

void TestNetwork::tearDown() {
  for (const pid_t pid : servers_) {
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
  }
  // Deleting a namespace removes its veths (and the node's nft table) with it.
  for (const auto& ns : pods_) std::system(("ip netns del " + ns + " 2>/dev/null").c_str());
  if (!client_.empty()) std::system(("ip netns del " + client_ + " 2>/dev/null").c_str());
  if (!node_.empty()) std::system(("ip netns del " + node_ + " 2>/dev/null").c_str());
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

std::vector<std::string> runClient(const std::string& script, const std::string& ns,
                                   const std::string& proto, const std::string& ip, int port,
                                   int count, const ClientOptions& options) {
  std::ostringstream timeout;
  timeout << options.timeout;
  std::string command = "ip netns exec " + ns + " /usr/bin/python3 " + script + " " + proto + " " +
                        ip + " " + std::to_string(port) + " " + std::to_string(count) + " " +
                        std::to_string(options.sourcePort) + " " + timeout.str() + " " +
                        (options.showPeer ? "1" : "0");
  if (!options.sourceAddress.empty()) command += " " + options.sourceAddress;
  std::istringstream out(capture(options.wrap ? options.wrap(command) : command));
  std::vector<std::string> lines;
  for (std::string line; std::getline(out, line);) lines.push_back(line);
  return lines;
}

std::vector<std::string> TestNetwork::connect(const std::string& ns, const std::string& proto,
                                              const std::string& ip, int port, int count,
                                              const ClientOptions& options) const {
  return runClient(dir_ + "/client.py", ns, proto, ip, port, count, options);
}

std::string TestNetwork::run(const std::string& ns, const std::string& command) const {
  return capture("ip netns exec " + ns + " " + command);
}

void TestNetwork::inNode(const std::function<void()>& fn) const {
  std::array<int, 2> pipeFds{};
  if (pipe(pipeFds.data()) != 0) throw std::runtime_error("pipe failed");
  const pid_t pid = fork();
  if (pid == 0) {
    close(pipeFds[0]);
    std::string error;
    try {
      const int fd = open(("/run/netns/" + node_).c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0 || setns(fd, CLONE_NEWNET) != 0) throw std::runtime_error("setns failed");
      close(fd);
      fn();
    } catch (const std::exception& e) {
      error = e.what();
    }
    if (!error.empty()) (void)!write(pipeFds[1], error.data(), error.size());
    _exit(error.empty() ? 0 : 1);
  }
  close(pipeFds[1]);
  std::string error;
  std::array<char, 4096> buf{};
  ssize_t n = 0;
  while ((n = read(pipeFds[0], buf.data(), buf.size())) > 0) {
    error.append(buf.data(), static_cast<std::size_t>(n));
  }
  close(pipeFds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    throw std::runtime_error("in the node namespace: " + (error.empty() ? "child died" : error));
  }
}

}  // namespace kite::proxy::testing
