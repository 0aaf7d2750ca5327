// Real IPv6 traffic through the nftables dataplane: the proxy's table is applied inside a
// "node" namespace the test creates, pods (fd00:42:<i>::2, and 10.42.<i>.2 for the dual-stack
// case) serve TCP and UDP echo, a client outside the cluster (fd00:99::2; the node is
// fd00:99::1) connects. ULA addresses only, without DAD; root only (CI runs as root); the
// host's own ruleset and addresses are never touched, the namespaces go with the test.

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "kite/proxy/nft_rules.h"
#include "kite/proxy/nftables_dataplane.h"
#include "netns.h"

extern char** environ;

namespace kite::proxy {
namespace {

using testing::capture;
using ::testing::Each;
using testing::sh;
using testing::spawn;

constexpr int kPodPort = 8080;
const nft::RulesOptions kOptions{.clusterCidr = "10.42.0.0/16", .clusterCidrIPv6 = "fd00:42::/48"};

// Answers its name on TCP and UDP, IPv6 and IPv4 (a dual-stack socket).

// One line per attempt: the answering pod's name, REFUSED, TIMEOUT or ERR <errno>.
constexpr const char* kClient = R"(import socket, sys
proto, ip, port, n = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
sport = int(sys.argv[5]) if len(sys.argv) > 5 else 0
family = socket.AF_INET6 if ":" in ip else socket.AF_INET
for _ in range(n):
    try:
        if proto == "tcp":
            s = socket.create_connection((ip, port), timeout=2)
        else:
            s = socket.socket(family, socket.SOCK_DGRAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("::" if family == socket.AF_INET6 else "0.0.0.0", sport))
            s.settimeout(2)
            s.connect((ip, port))
            s.send(b"x")
        print(s.recv(100).decode().strip())
        s.close()
    except ConnectionRefusedError:
        print("REFUSED")
    except socket.timeout:
        print("TIMEOUT")
    except OSError as e:
        print("ERR", e.errno)
    sys.stdout.flush()
)";

// The namespaces: node (routes, runs the table), client (outside the cluster) and pods a, b, c.
class Network6 {
 public:
  explicit Network6(int pods) {
    try {
      setUp(pods);
    } catch (...) {
      tearDown();
      throw;
    }
  }
  ~Network6() { tearDown(); }
  Network6(const Network6&) = delete;
  Network6& operator=(const Network6&) = delete;

  static std::string podIP(int i) { return "fd00:42:" + std::to_string(i + 1) + "::2"; }
  static std::string podIPv4(int i) { return "10.42." + std::to_string(i + 1) + ".2"; }
  static std::string podName(int i) { return std::string(1, static_cast<char>('a' + i)); }
  const std::string& node() const { return node_; }
  const std::string& client() const { return client_; }
  const std::string& pod(int i) const { return pods_.at(static_cast<std::size_t>(i)); }

  std::vector<std::string> connect(const std::string& ns, const std::string& proto,
                                   const std::string& ip, int port, int count,
                                   int sourcePort = 0) const {
    std::istringstream out(capture("ip netns exec " + ns + " /usr/bin/python3 " + dir_ +
                                   "/client.py " + proto + " " + ip + " " + std::to_string(port) +
                                   " " + std::to_string(count) + " " + std::to_string(sourcePort)));
    std::vector<std::string> lines;
    for (std::string line; std::getline(out, line);) lines.push_back(line);
    return lines;
  }

  // fn in a child that entered the node's namespace; throws with its message when fn threw.
  void inNode(const std::function<void()>& fn) const {
    std::array<int, 2> fds{};
    if (pipe(fds.data()) != 0) throw std::runtime_error("pipe failed");
    const pid_t pid = fork();
    if (pid == 0) {
      close(fds[0]);
      std::string error;
      try {
        const int fd = open(("/run/netns/" + node_).c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0 || setns(fd, CLONE_NEWNET) != 0) throw std::runtime_error("setns failed");
        close(fd);
        fn();
      } catch (const std::exception& e) {
        error = e.what();
      }
      if (!error.empty()) (void)!write(fds[1], error.data(), error.size());
      _exit(error.empty() ? 0 : 1);
    }
    close(fds[1]);
    std::string error;
    std::array<char, 4096> buf{};
    ssize_t n = 0;
    while ((n = read(fds[0], buf.data(), buf.size())) > 0) {
      error.append(buf.data(), static_cast<std::size_t>(n));
    }
    close(fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      throw std::runtime_error("in the node namespace: " + (error.empty() ? "child died" : error));
    }
  }

 private:
  void setUp(int pods) {
    std::string tmpl = (std::filesystem::temp_directory_path() / "kite-proxy6-XXXXXX").string();
    if (mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    dir_ = tmpl;
    std::ofstream(dir_ + "/server.py") << testing::kDualStackEchoServer;
    std::ofstream(dir_ + "/client.py") << kClient;
    static int instances = 0;
    const std::string id = std::to_string(getpid()) + "-" + std::to_string(instances++);
    node_ = "kp6-" + id + "-node";
    client_ = "kp6-" + id + "-client";
    sh("ip netns add " + node_);
    sh("ip netns add " + client_);
    for (const auto& ns : {node_, client_}) {
      sh("ip -n " + ns + " link set lo up");
      sh("ip netns exec " + ns + " sysctl -qw net.ipv6.conf.default.accept_dad=0");
      sh("ip netns exec " + ns + " sysctl -qw net.ipv6.conf.all.accept_dad=0");
    }
    sh("ip netns exec " + node_ + " sysctl -qw net.ipv6.conf.all.forwarding=1");
    sh("ip netns exec " + node_ + " sysctl -qw net.ipv4.ip_forward=1");
    sh("ip -n " + node_ + " link add vcl type veth peer name eth0 netns " + client_);
    sh("ip -n " + node_ + " addr add fd00:99::1/64 dev vcl nodad");
    sh("ip -n " + node_ + " addr add 10.99.0.1/24 dev vcl");
    sh("ip -n " + node_ + " link set vcl up");
    // A default route, as a real node has: unknown addresses leave into a veth nobody answers.
    sh("ip -n " + node_ + " link add up0 type veth peer name up1");
    sh("ip -n " + node_ + " link set up1 up");
    sh("ip -n " + node_ + " link set up0 up");
    sh("ip -n " + node_ + " -6 route add default dev up0");
    sh("ip -n " + node_ + " route add default dev up0");
    sh("ip -n " + client_ + " addr add fd00:99::2/64 dev eth0 nodad");
    sh("ip -n " + client_ + " addr add 10.99.0.2/24 dev eth0");
    sh("ip -n " + client_ + " link set eth0 up");
    sh("ip -n " + client_ + " -6 route add default via fd00:99::1");
    sh("ip -n " + client_ + " route add default via 10.99.0.1");
    for (int i = 0; i < pods; ++i) {
      const std::string ns = "kp6-" + id + "-pod-" + podName(i);
      const std::string veth = "vp" + podName(i);
      const std::string net6 = "fd00:42:" + std::to_string(i + 1) + "::";
      const std::string net4 = "10.42." + std::to_string(i + 1) + ".";
      pods_.push_back(ns);
      sh("ip netns add " + ns);
      sh("ip -n " + ns + " link set lo up");
      sh("ip netns exec " + ns + " sysctl -qw net.ipv6.conf.default.accept_dad=0");
      sh("ip -n " + node_ + " link add " + veth + " type veth peer name eth0 netns " + ns);
      sh("ip -n " + node_ + " addr add " + net6 + "1/64 dev " + veth + " nodad");
      sh("ip -n " + node_ + " addr add " + net4 + "1/24 dev " + veth);
      sh("ip -n " + node_ + " link set " + veth + " up");
      sh("ip -n " + ns + " addr add " + net6 + "2/64 dev eth0 nodad");
      sh("ip -n " + ns + " addr add " + net4 + "2/24 dev eth0");
      sh("ip -n " + ns + " link set eth0 up");
      sh("ip -n " + ns + " -6 route add default via " + net6 + "1");
      sh("ip -n " + ns + " route add default via " + net4 + "1");
      servers_.push_back(
          spawn({"ip", "netns", "exec", ns, "/usr/bin/python3", dir_ + "/server.py", podName(i),
                 std::to_string(kPodPort), dir_ + "/ready-" + podName(i)}));
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    for (int i = 0; i < pods; ++i) {
      while (!std::filesystem::exists(dir_ + "/ready-" + podName(i))) {
        if (std::chrono::steady_clock::now() > deadline) throw std::runtime_error("servers not up");
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    }
  }

  void tearDown() {
    for (const pid_t pid : servers_) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
    }
    // Deleting a namespace removes its veths and the node's nft table with it.
    for (const auto& ns : pods_) std::system(("ip netns del " + ns + " 2>/dev/null").c_str());
    if (!client_.empty()) std::system(("ip netns del " + client_ + " 2>/dev/null").c_str());
    if (!node_.empty()) std::system(("ip netns del " + node_ + " 2>/dev/null").c_str());
    std::error_code ec;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
  }

  std::string dir_;
  std::string node_;
  std::string client_;
  std::vector<std::string> pods_;
  std::vector<pid_t> servers_;
};

class ProxyIPv6Traffic : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root for network namespaces";
    net_ = std::make_unique<Network6>(3);
  }

  static ServicePortState service(const std::string& name, const std::string& ip, int port,
                                  const std::vector<int>& pods, const std::string& proto = "tcp") {
    ServicePortState p;
    p.namespace_ = "default";
    p.name = name;
    p.protocol = proto;
    p.clusterIP = ip;
    p.port = port;
    const bool v6 = ip.find(':') != std::string::npos;
    for (const int i : pods) {
      p.endpoints.push_back({v6 ? Network6::podIP(i) : Network6::podIPv4(i), kPodPort});
    }
    std::sort(p.endpoints.begin(), p.endpoints.end());
    return p;
  }

  static DesiredState stateOf(const std::vector<ServicePortState>& ports) {
    DesiredState s;
    for (const auto& p : ports) s.services.emplace(p.key(), p);
    return s;
  }

  void syncAll(const DesiredState& state) {
    net_->inNode([&] { NftablesDataplane(kOptions).syncAll(state); });
  }
  void syncChanges(const DesiredState& applied, const DesiredState& next) {
    net_->inNode([&] { NftablesDataplane(kOptions).syncChanges(applied, next); });
  }
  std::vector<std::string> fromClient(const std::string& proto, const std::string& ip, int port,
                                      int count, int sourcePort = 0) {
    return net_->connect(net_->client(), proto, ip, port, count, sourcePort);
  }
  static std::set<std::string> distinct(const std::vector<std::string>& lines) {
    return {lines.begin(), lines.end()};
  }

  std::unique_ptr<Network6> net_;
};

TEST_F(ProxyIPv6Traffic, ClusterIPSpreadsOverAllEndpointsTcpAndUdp) {
  syncAll(stateOf({service("web", "fd00:43::10", 80, {0, 1, 2}),
                   service("dns", "fd00:43::11", 53, {0, 1}, "udp")}));
  const auto tcp = fromClient("tcp", "fd00:43::10", 80, 30);
  ASSERT_EQ(tcp.size(), 30U);
  EXPECT_EQ(distinct(tcp), (std::set<std::string>{"a", "b", "c"}));
  const auto udp = fromClient("udp", "fd00:43::11", 53, 20);
  ASSERT_EQ(udp.size(), 20U);
  EXPECT_EQ(distinct(udp), (std::set<std::string>{"a", "b"}));
  // From a pod inside the cluster too.
  const auto fromPod = net_->connect(net_->pod(2), "tcp", "fd00:43::10", 80, 15);
  EXPECT_EQ(distinct(fromPod), (std::set<std::string>{"a", "b", "c"}));
}

TEST_F(ProxyIPv6Traffic, NodePortFromOutsideTheCluster) {
  auto web = service("web", "fd00:43::10", 80, {1});
  web.nodePort = 30080;
  syncAll(stateOf({web}));
  EXPECT_THAT(fromClient("tcp", "fd00:99::1", 30080, 3), Each(std::string("b")));
  EXPECT_THAT(fromClient("udp", "fd00:99::1", 30080, 1), Each(std::string("REFUSED")));
  // Not a NodePort: nothing listens on the node.
  EXPECT_THAT(fromClient("tcp", "fd00:99::1", 30081, 1), Each(std::string("REFUSED")));
  // An IPv6-only Service has no IPv4 NodePort.
  EXPECT_THAT(fromClient("tcp", "10.99.0.1", 30080, 1), Each(std::string("REFUSED")));
}

TEST_F(ProxyIPv6Traffic, LoadBalancerIPWithSourceRanges) {
  // The client routes everything through the node, so the node sees its packets to the
  // load-balancer IP as a real load balancer would hand them over.
  auto lb = service("lb", "fd00:43::20", 80, {0, 1});
  lb.externalIPs = {"fd00:98::20"};
  lb.loadBalancerIPs = {"fd00:98::20"};
  lb.loadBalancerSourceRanges = {"fd00:99::/64"};
  syncAll(stateOf({lb}));
  const auto allowed = fromClient("tcp", "fd00:98::20", 80, 10);
  EXPECT_EQ(distinct(allowed), (std::set<std::string>{"a", "b"}));

  auto closed = lb;
  closed.loadBalancerSourceRanges = {"fd00:97::/64"};
  syncChanges(stateOf({lb}), stateOf({closed}));
  EXPECT_THAT(fromClient("tcp", "fd00:98::20", 80, 1), Each(std::string("TIMEOUT")));
  // The ClusterIP is not behind the source ranges.
  EXPECT_EQ(distinct(fromClient("tcp", "fd00:43::20", 80, 10)), (std::set<std::string>{"a", "b"}));
}

TEST_F(ProxyIPv6Traffic, ServiceWithoutEndpointsRefusesAtOnce) {
  auto empty = service("empty", "fd00:43::13", 80, {});
  empty.nodePort = 30013;
  auto dns = service("dns", "fd00:43::14", 53, {}, "udp");
  syncAll(stateOf({empty, dns}));
  const auto start = std::chrono::steady_clock::now();
  EXPECT_THAT(fromClient("tcp", "fd00:43::13", 80, 2), Each(std::string("REFUSED")));
  EXPECT_THAT(fromClient("tcp", "fd00:99::1", 30013, 2), Each(std::string("REFUSED")));
  EXPECT_THAT(fromClient("udp", "fd00:43::14", 53, 2), Each(std::string("REFUSED")));
  // A timeout would take 2 s per attempt.
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
}

TEST_F(ProxyIPv6Traffic, DualStackPortAnswersOnBothFamilies) {
  auto v4 = service("web", "10.43.0.10", 80, {0});
  v4.nodePort = 30080;
  auto v6 = service("web", "fd00:43::10", 80, {1});
  v6.nodePort = 30080;
  syncAll(stateOf({v4, v6}));
  EXPECT_THAT(fromClient("tcp", "10.43.0.10", 80, 3), Each(std::string("a")));
  EXPECT_THAT(fromClient("tcp", "fd00:43::10", 80, 3), Each(std::string("b")));
  EXPECT_THAT(fromClient("tcp", "10.99.0.1", 30080, 2), Each(std::string("a")));
  EXPECT_THAT(fromClient("tcp", "fd00:99::1", 30080, 2), Each(std::string("b")));
}

TEST_F(ProxyIPv6Traffic, IncrementalSyncsAndStaleUdpFlows) {
  auto web = service("web", "fd00:43::10", 80, {0, 1});
  auto dns = service("dns", "fd00:43::11", 53, {0}, "udp");
  const auto first = stateOf({web, dns});
  syncAll(first);
  // A UDP client keeps one source port: its conntrack entry pins it to pod a.
  EXPECT_THAT(fromClient("udp", "fd00:43::11", 53, 2, 40053), Each(std::string("a")));

  auto webMoved = service("web", "fd00:43::10", 80, {2});
  auto dnsMoved = service("dns", "fd00:43::11", 53, {1}, "udp");
  const auto second = stateOf({webMoved, dnsMoved});
  syncChanges(first, second);
  EXPECT_THAT(fromClient("tcp", "fd00:43::10", 80, 5), Each(std::string("c")));
  // The stale entry was deleted: the same client now reaches pod b.
  EXPECT_THAT(fromClient("udp", "fd00:43::11", 53, 2, 40053), Each(std::string("b")));

  // The last endpoint goes: refused at once.
  const auto third = stateOf({service("web", "fd00:43::10", 80, {}), dnsMoved});
  syncChanges(second, third);
  EXPECT_THAT(fromClient("tcp", "fd00:43::10", 80, 1), Each(std::string("REFUSED")));
}

TEST_F(ProxyIPv6Traffic, ClientIPAffinityPinsAClient) {
  auto sticky = service("sticky", "fd00:43::15", 80, {0, 1, 2});
  sticky.affinityTimeoutSeconds = 60;
  syncAll(stateOf({sticky}));
  const auto lines = fromClient("tcp", "fd00:43::15", 80, 15);
  ASSERT_EQ(lines.size(), 15U);
  EXPECT_EQ(distinct(lines).size(), 1U) << ::testing::PrintToString(lines);
  EXPECT_EQ(lines[0].size(), 1U) << lines[0];
}

TEST_F(ProxyIPv6Traffic, HairpinAPodReachesItsOwnService) {
  syncAll(stateOf({service("self", "fd00:43::16", 80, {0})}));
  EXPECT_THAT(net_->connect(net_->pod(0), "tcp", "fd00:43::16", 80, 3), Each(std::string("a")));
}

TEST_F(ProxyIPv6Traffic, CleanupRemovesTheTable) {
  syncAll(stateOf({service("web", "fd00:43::10", 80, {0})}));
  std::string listed;
  net_->inNode([&] {
    NftablesDataplane dataplane(kOptions);
    if (dataplane.listTable().find("service-ips6") == std::string::npos) {
      throw std::runtime_error("no service-ips6 in the table");
    }
    dataplane.cleanup();
    if (!dataplane.listTable().empty()) throw std::runtime_error("the table is still there");
  });
  // Nothing translates the ClusterIP any more: it leaves through the default route, unanswered.
  EXPECT_THAT(fromClient("tcp", "fd00:43::10", 80, 1), Each(std::string("TIMEOUT")));
}

}  // namespace
}  // namespace kite::proxy
