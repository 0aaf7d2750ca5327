// What only the userspace dataplane does (no packet filter at all), with real traffic: the
// dataplane is made while the test thread is inside the "node" namespace of netns.h, so its
// event loop, listeners and dummy link live there; pods serve TCP and UDP echo, a client
// outside the cluster connects. The Service cases every backend runs are in
// service_traffic_test.cpp. Root only (CI runs as root); the host's namespaces are never
// touched.
// Also: the nftables probe, in namespaces of its own, with and without CAP_NET_ADMIN.

#include <arpa/inet.h>
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <linux/capability.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <set>
#include <stdexcept>
#include <thread>

#include "kite/proxy/packet_filter_probe.h"
#include "kite/proxy/userspace_dataplane.h"
#include "netns.h"
#include "traffic.h"

namespace kite::proxy {
namespace {

using ::testing::Each;
using ::testing::HasSubstr;
using testing::InNamespace;
using testing::kPodPort;
using ::testing::Not;
using testing::stateOf;

class UserspaceTraffic : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root for network namespaces";
    net_ = std::make_unique<testing::TestNetwork>(3, kPodPort);
  }

  std::unique_ptr<UserspaceDataplane> makeDataplane(UserspaceOptions options = {}) const {
    const InNamespace inside(net_->nodeNs());
    return std::make_unique<UserspaceDataplane>(std::move(options));
  }
  UserspaceDataplane& dataplane() {
    if (!dataplane_) dataplane_ = makeDataplane();
    return *dataplane_;
  }

  ServicePortState service(const std::string& name, const std::string& ip, int port,
                           const std::vector<int>& pods, const std::string& proto = "tcp") const {
    return testing::service(*net_, name, ip, port, pods, proto);
  }

  std::vector<std::string> fromClient(const std::string& proto, const std::string& ip, int port,
                                      int count) const {
    return net_->connect(net_->clientNs(), proto, ip, port, count);
  }

  std::string inNode(const std::string& command) const {
    return net_->run(net_->nodeNs(), command);
  }

  // Declared first: the dataplane goes before the namespaces it lives in.
  std::unique_ptr<testing::TestNetwork> net_;
  std::unique_ptr<UserspaceDataplane> dataplane_;
};

TEST_F(UserspaceTraffic, UnreachableEndpointIsSkippedForTheNextOne) {
  // 10.42.9.2 is routed nowhere that answers; 10.42.1.2 refuses on port 9 (nobody listens).
  auto web = service("web", "10.43.0.10", 80, {1});
  web.endpoints.push_back({"10.42.1.2", 9});
  web.endpoints.push_back({"10.42.9.2", 80});
  std::sort(web.endpoints.begin(), web.endpoints.end());
  dataplane().syncAll(stateOf({web}));
  EXPECT_THAT(fromClient("tcp", "10.43.0.10", 80, 6), Each(std::string("b")));
}

TEST_F(UserspaceTraffic, MalformedNodePortAddressesAreRefused) {
  EXPECT_THROW(makeDataplane({.nodePortAddresses = {"10.42.0.0/40"}}), std::invalid_argument);
}

TEST_F(UserspaceTraffic, CleanupLeavesNoLinkOrAddressAndARestartTakesOver) {
  const auto web = service("web", "10.43.0.10", 80, {0});
  const auto db = service("db", "10.43.0.20", 5432, {2});
  dataplane().syncAll(stateOf({web, db}));
  // A restart: the link and addresses stay while kite is down; the new run takes them over
  // and drops what no Service has any more.
  dataplane_.reset();
  EXPECT_THAT(inNode("ip -4 addr show dev kite-svc0"), HasSubstr("10.43.0.20/32"));
  dataplane().syncAll(stateOf({web}));
  EXPECT_THAT(fromClient("tcp", "10.43.0.10", 80, 2), Each(std::string("a")));
  const auto addresses = inNode("ip -4 addr show dev kite-svc0");
  EXPECT_THAT(addresses, HasSubstr("10.43.0.10/32"));
  EXPECT_THAT(addresses, Not(HasSubstr("10.43.0.20")));

  dataplane().cleanup();
  EXPECT_EQ(inNode("ip link show kite-svc0 2>/dev/null"), "");
  EXPECT_THAT(inNode("ip -4 addr"), Not(HasSubstr("10.43.0.")));
  // `kite proxy --cleanup` without a dataplane: nothing left to remove.
  const InNamespace inside(net_->nodeNs());
  EXPECT_FALSE(UserspaceDataplane::removeLink());
}

TEST_F(UserspaceTraffic, SctpPortsAreLeftOutWithoutFailingTheSync) {
  // Not relayed in userspace mode (as upstream's userspace proxy): the sync still succeeds
  // and the Service's other ports work.
  dataplane().syncAll(stateOf(
      {service("web", "10.43.0.10", 80, {0}), service("web", "10.43.0.10", 9999, {0}, "sctp")}));
  EXPECT_THAT(fromClient("tcp", "10.43.0.10", 80, 2), Each(std::string("a")));
}

TEST_F(UserspaceTraffic, TakenPortFailsThatListenerOnly) {
  auto web = service("web", "10.43.0.10", 80, {0});
  web.nodePort = 30080;
  auto db = service("db", "10.43.0.20", 5432, {2});
  // Something else on the node has port 30080.
  const auto blocker = [&] {
    const InNamespace inside(net_->nodeNs());
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(30080);
    // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast): the sockets API
    if (bind(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof(sa)) != 0 || listen(fd, 1) != 0) {
      throw std::runtime_error("blocker");
    }
    return fd;
  }();
  try {
    dataplane().syncAll(stateOf({web, db}));
    ADD_FAILURE() << "no error";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("0.0.0.0:30080"));
    EXPECT_THAT(e.what(), HasSubstr("default/web"));
  }
  // The rest works.
  EXPECT_THAT(fromClient("tcp", "10.43.0.10", 80, 2), Each(std::string("a")));
  EXPECT_THAT(fromClient("tcp", "10.43.0.20", 5432, 2), Each(std::string("c")));
  // Once the port is free, the next full sync makes the listener.
  close(blocker);
  dataplane().syncAll(stateOf({web, db}));
  EXPECT_THAT(fromClient("tcp", "10.99.0.1", 30080, 2), Each(std::string("a")));
}

// An echo server for one connection (then it exits, or after 20 s without one), and a
// client that streams `size` bytes through it while reading them back, half-closes, reads to
// the end, then (with a pause) sends once more on a second connection kept open meanwhile.
constexpr const char* kEchoServer = R"(import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", int(sys.argv[1]))); s.listen(8); s.settimeout(20)
for _ in range(int(sys.argv[2])):
    c, _ = s.accept()
    while True:
        data = c.recv(65536)
        if not data:
            break
        c.sendall(data)
    c.close()
)";

constexpr const char* kStreamClient = R"(import hashlib, socket, sys, threading, time
ip, port, size, pause = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
payload = bytes(i * 7 % 251 for i in range(size))
s = socket.create_connection((ip, port), timeout=10)
def send():
    s.sendall(payload)
    s.shutdown(socket.SHUT_WR)
threading.Thread(target=send).start()
got = bytearray()
while True:
    data = s.recv(65536)
    if not data:
        break
    got += data
print(len(got), hashlib.sha256(got).hexdigest() == hashlib.sha256(payload).hexdigest())
k = socket.create_connection((ip, port), timeout=10)
k.sendall(b"before"); print(k.recv(100).decode())
time.sleep(pause)
k.sendall(b"after"); print(k.recv(100).decode())
sys.stdout.flush()
)";

TEST_F(UserspaceTraffic, StreamsBothWaysAndKeepsConnectionsAcrossSyncs) {
  char dirTemplate[] = "/tmp/kite-userspace-XXXXXX";
  ASSERT_NE(mkdtemp(dirTemplate), nullptr);
  const std::string dir = dirTemplate;
  std::ofstream(dir + "/echo.py") << kEchoServer;
  std::ofstream(dir + "/stream.py") << kStreamClient;
  net_->run(net_->podNs(0), "/usr/bin/python3 " + dir + "/echo.py 7000 2 >/dev/null 2>&1 &");
  std::this_thread::sleep_for(std::chrono::milliseconds(300));

  const auto echo = [&](std::vector<int> pods) {
    auto p = service("echo", "10.43.0.30", 7000, std::move(pods));
    for (auto& e : p.endpoints) e.port = 7000;
    return p;
  };
  const auto web = service("web", "10.43.0.10", 80, {1});
  const auto first = stateOf({echo({0}), web});
  dataplane().syncAll(first);
  auto client = std::async(std::launch::async, [&] {
    return net_->run(net_->clientNs(),
                     "/usr/bin/python3 " + dir + "/stream.py 10.43.0.30 7000 3000000 1.5");
  });
  // While the second connection is open: another Service changes, this one gains an
  // endpoint (pod b, nothing on 7000) — its open connection is not touched.
  std::this_thread::sleep_for(std::chrono::milliseconds(800));
  const auto second = stateOf({echo({0, 1}), service("web", "10.43.0.10", 80, {2})});
  dataplane().syncChanges(first, second);
  EXPECT_EQ(client.get(), "3000000 True\nbefore\nafter\n");
  EXPECT_THAT(fromClient("tcp", "10.43.0.10", 80, 2), Each(std::string("c")));
  std::filesystem::remove_all(dir);
}

constexpr const char* kParallelClient = R"(import socket, sys, threading
ip, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
answers, barrier = [], threading.Barrier(n)
def one():
    barrier.wait()
    try:
        s = socket.create_connection((ip, port), timeout=10)
        answers.append(s.recv(100).decode().strip())
    except OSError as e:
        answers.append("ERR %s" % e)
threads = [threading.Thread(target=one) for _ in range(n)]
for t in threads: t.start()
for t in threads: t.join()
for a in sorted(set(answers)): print(a, answers.count(a))
)";

TEST_F(UserspaceTraffic, OneLoopServesManyConcurrentConnections) {
  char dirTemplate[] = "/tmp/kite-userspace-XXXXXX";
  ASSERT_NE(mkdtemp(dirTemplate), nullptr);
  const std::string dir = dirTemplate;
  std::ofstream(dir + "/parallel.py") << kParallelClient;
  dataplane().syncAll(stateOf({service("web", "10.43.0.10", 80, {0, 1, 2})}));
  // 150 connections at once, all through the one event-loop thread.
  EXPECT_EQ(
      net_->run(net_->clientNs(), "/usr/bin/python3 " + dir + "/parallel.py 10.43.0.10 80 150"),
      "a 50\nb 50\nc 50\n");
  EXPECT_EQ(dataplane().openConnections(), 0U);
  std::filesystem::remove_all(dir);
}

// Runs fn in a forked child inside a fresh network namespace; its exit status.
int inScratchNamespace(const std::function<int()>& fn) {
  const pid_t pid = fork();
  if (pid == 0) {
    if (unshare(CLONE_NEWNET) != 0) _exit(100);
    _exit(fn());
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 101;
}

TEST(NftablesProbe, UsableWithCapNetAdminAndNotWithout) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root for network namespaces";
  EXPECT_EQ(inScratchNamespace([] {
              const auto probe = probeNftables();
              // The scratch table is gone again.
              const bool leftover =
                  std::system("nft list tables 2>/dev/null | grep -q kite-probe") == 0;
              return probe.usable && probe.reason.empty() && !leftover ? 0 : 1;
            }),
            0);
  EXPECT_EQ(inScratchNamespace([] {
              // Drop CAP_NET_ADMIN from the effective set, as in a locked-down container.
              __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
              std::array<__user_cap_data_struct, 2> data{};
              if (syscall(SYS_capget, &header, data.data()) != 0) return 2;
              data[0].effective &= ~(1U << CAP_NET_ADMIN);
              if (syscall(SYS_capset, &header, data.data()) != 0) return 3;
              const auto probe = probeNftables();
              return !probe.usable && probe.reason.find("not permitted") != std::string::npos ? 0
                                                                                              : 1;
            }),
            0);
}

}  // namespace
}  // namespace kite::proxy
