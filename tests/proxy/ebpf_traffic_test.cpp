// Real traffic through the eBPF dataplane (socket-level translation, no nftables): the
// programs attach to a cgroup v2 child the test creates, and only the test's client
// processes are moved into it, so the host's own connections are never rewritten. Pods and
// the client live in the network namespaces of netns.h. Root only (CI runs as root).

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <memory>
#include <set>
#include <sstream>

#include "kite/ebpf/sock_lb.h"
#include "kite/proxy/ebpf_dataplane.h"
#include "kite/proxy/nft_rules.h"
#include "netns.h"
#include "scratch.h"

namespace kite::proxy {
namespace {

using ::testing::Each;
using ::testing::ElementsAre;

constexpr int kPodPort = 8080;

// One line per attempt: "<pod> <peer ip>:<peer port>" (the peer as getpeername or recvfrom
// tell it), or REFUSED, TIMEOUT, ERR <errno>.
constexpr const char* kClient = R"(import socket, sys
mode, ip, port, n, timeout = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
for _ in range(n):
    try:
        if mode == "tcp" or mode == "tcp6":
            s = socket.create_connection(("::ffff:" + ip if mode == "tcp6" else ip, port), timeout=timeout)
            peer = s.getpeername()
            data = s.recv(100)
        else:
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.settimeout(timeout)
            if mode == "udp":
                s.connect((ip, port))
                s.send(b"x")
                peer = s.getpeername()
                data = s.recv(100)
            else:
                s.sendto(b"x", (ip, port))
                data, peer = s.recvfrom(100)
        print(data.decode().strip(), "%s:%d" % (peer[0], peer[1]))
        s.close()
    except ConnectionRefusedError:
        print("REFUSED")
    except socket.timeout:
        print("TIMEOUT")
    except OSError as e:
        print("ERR", e.errno)
    sys.stdout.flush()
)";

class EbpfTraffic : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root for BPF and network namespaces";
    net_ = std::make_unique<testing::TestNetwork>(3, kPodPort);
    cgroup_ = std::make_unique<ebpf::testing::TestCgroup>();
    pins_ = std::make_unique<ebpf::testing::TestPinDir>();
    std::string dir = (std::filesystem::temp_directory_path() / "kite-ebpf-XXXXXX").string();
    ASSERT_NE(mkdtemp(dir.data()), nullptr);
    scriptDir_ = dir;
    script_ = dir + "/client.py";
    std::ofstream(script_) << kClient;
    dataplane_ = makeDataplane();
  }

  void TearDown() override {
    dataplane_.reset();
    if (!scriptDir_.empty()) std::filesystem::remove_all(scriptDir_);
  }

  std::unique_ptr<EbpfDataplane> makeDataplane() const {
    return std::make_unique<EbpfDataplane>(EbpfOptions{
        .pinDir = pins_->path(), .cgroup = cgroup_->path(), .northSouth = std::nullopt});
  }

  ServicePortState service(const std::string& name, const std::string& ip, int port,
                           std::vector<int> pods, const std::string& proto = "tcp") const {
    ServicePortState p;
    p.namespace_ = "default";
    p.name = name;
    p.protocol = proto;
    p.clusterIP = ip;
    p.port = port;
    for (const int i : pods) p.endpoints.push_back({net_->podIP(i), kPodPort});
    std::sort(p.endpoints.begin(), p.endpoints.end());
    return p;
  }

  static DesiredState stateOf(const std::vector<ServicePortState>& ports) {
    DesiredState s;
    for (const auto& p : ports) s.services.emplace(p.key(), p);
    return s;
  }

  // `count` attempts from the client namespace, by a process inside the test's cgroup
  // (`inCgroup`) or outside it. mode: tcp, tcp6 (an IPv6 socket to
  // the IPv4-mapped address), udp (connected) or udp-sendto.
  std::vector<std::string> fromClient(const std::string& mode, const std::string& ip, int port,
                                      int count, double timeout = 2.0, bool inCgroup = true) const {
    const std::string command = "ip netns exec " + net_->clientNs() + " /usr/bin/python3 " +
                                script_ + " " + mode + " " + ip + " " + std::to_string(port) + " " +
                                std::to_string(count) + " " + std::to_string(timeout);
    std::istringstream out(ebpf::testing::capture(inCgroup ? cgroup_->wrap(command) : command));
    std::vector<std::string> lines;
    for (std::string line; std::getline(out, line);) lines.push_back(line);
    return lines;
  }

  static std::set<std::string> pods(const std::vector<std::string>& lines) {
    std::set<std::string> names;
    for (const auto& line : lines) names.insert(line.substr(0, line.find(' ')));
    return names;
  }
  static std::set<std::string> peers(const std::vector<std::string>& lines) {
    std::set<std::string> out;
    for (const auto& line : lines) out.insert(line.substr(line.find(' ') + 1));
    return out;
  }

  // Elements in the backend map now (a second loader on the same pins takes a look).
  std::size_t backendElements() const {
    return ebpf::SockLb({.pinDir = pins_->path(), .cgroup = cgroup_->path()})
        .backends()
        .keys()
        .size();
  }

  std::unique_ptr<testing::TestNetwork> net_;
  std::unique_ptr<ebpf::testing::TestCgroup> cgroup_;
  std::unique_ptr<ebpf::testing::TestPinDir> pins_;
  std::string scriptDir_;
  std::string script_;
  std::unique_ptr<EbpfDataplane> dataplane_;
};

TEST_F(EbpfTraffic, ClusterIPSpreadsOverAllEndpointsTcpAndUdp) {
  dataplane_->syncAll(stateOf({service("web", "10.43.0.10", 80, {0, 1, 2}),
                               service("dns", "10.43.0.11", 53, {0, 1}, "udp")}));
  const auto tcp = fromClient("tcp", "10.43.0.10", 80, 30);
  ASSERT_EQ(tcp.size(), 30U);
  EXPECT_EQ(pods(tcp), (std::set<std::string>{"a", "b", "c"}));
  // getpeername shows the Service, not the pod it reached.
  EXPECT_EQ(peers(tcp), (std::set<std::string>{"10.43.0.10:80"}));
  const auto udp = fromClient("udp", "10.43.0.11", 53, 20);
  ASSERT_EQ(udp.size(), 20U);
  EXPECT_EQ(pods(udp), (std::set<std::string>{"a", "b"}));
  EXPECT_EQ(peers(udp), (std::set<std::string>{"10.43.0.11:53"}));
}

TEST_F(EbpfTraffic, DualStackSocketsReachIPv4ServicesThroughMappedAddresses) {
  dataplane_->syncAll(stateOf({service("web", "10.43.0.10", 80, {0, 1, 2})}));
  const auto lines = fromClient("tcp6", "10.43.0.10", 80, 15);
  ASSERT_EQ(lines.size(), 15U);
  EXPECT_EQ(pods(lines), (std::set<std::string>{"a", "b", "c"}));
  EXPECT_EQ(peers(lines), (std::set<std::string>{"::ffff:10.43.0.10:80"}));
}

TEST_F(EbpfTraffic, UnconnectedUdpRepliesComeFromTheService) {
  dataplane_->syncAll(stateOf({service("dns", "10.43.0.11", 53, {0, 1}, "udp")}));
  const auto replies = fromClient("udp-sendto", "10.43.0.11", 53, 20);
  ASSERT_EQ(replies.size(), 20U);
  EXPECT_EQ(pods(replies), (std::set<std::string>{"a", "b"}));
  EXPECT_EQ(peers(replies), (std::set<std::string>{"10.43.0.11:53"}));
}

TEST_F(EbpfTraffic, ServiceWithoutEndpointsRefusesAtOnce) {
  dataplane_->syncAll(stateOf({service("empty", "10.43.0.12", 80, {})}));
  const auto start = std::chrono::steady_clock::now();
  EXPECT_THAT(fromClient("tcp", "10.43.0.12", 80, 3), ElementsAre("REFUSED", "REFUSED", "REFUSED"));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
}

TEST_F(EbpfTraffic, ExternalIPsAreTranslatedForLocalClients) {
  auto web = service("web", "10.43.0.10", 80, {2});
  web.externalIPs = {"192.0.2.10"};
  dataplane_->syncAll(stateOf({web}));
  const auto lines = fromClient("tcp", "192.0.2.10", 80, 3);
  EXPECT_THAT(pods(lines), ElementsAre("c"));
  EXPECT_EQ(peers(lines), (std::set<std::string>{"192.0.2.10:80"}));
}

TEST_F(EbpfTraffic, ClientIPAffinityPinsAClientAndForgetsARemovedEndpoint) {
  auto web = service("web", "10.43.0.10", 80, {0, 1, 2});
  web.affinityTimeoutSeconds = 10800;
  dataplane_->syncAll(stateOf({web}));
  const auto pinned = pods(fromClient("tcp", "10.43.0.10", 80, 15));
  ASSERT_EQ(pinned.size(), 1U);
  const int chosen = *pinned.begin() == "a" ? 0 : *pinned.begin() == "b" ? 1 : 2;

  auto without = web;
  without.endpoints.erase(without.endpoints.begin() + chosen);
  dataplane_->syncChanges(stateOf({web}), stateOf({without}));
  const auto repinned = pods(fromClient("tcp", "10.43.0.10", 80, 15));
  ASSERT_EQ(repinned.size(), 1U);
  EXPECT_NE(*repinned.begin(), *pinned.begin());
}

TEST_F(EbpfTraffic, IncrementalSyncsRemoveEndpointsAndServices) {
  const auto all = stateOf(
      {service("web", "10.43.0.10", 80, {0, 1, 2}), service("dns", "10.43.0.11", 53, {0}, "udp")});
  dataplane_->syncAll(all);
  const auto fewer = stateOf(
      {service("web", "10.43.0.10", 80, {0, 1}), service("dns", "10.43.0.11", 53, {0}, "udp")});
  dataplane_->syncChanges(all, fewer);
  EXPECT_EQ(pods(fromClient("tcp", "10.43.0.10", 80, 30)), (std::set<std::string>{"a", "b"}));
  EXPECT_EQ(backendElements(), 3U);  // the old generation of web is gone

  const auto none = stateOf({service("dns", "10.43.0.11", 53, {0}, "udp")});
  dataplane_->syncChanges(fewer, none);
  EXPECT_THAT(fromClient("tcp", "10.43.0.10", 80, 1, 0.3), ElementsAre("TIMEOUT"));
  EXPECT_THAT(pods(fromClient("udp", "10.43.0.11", 53, 3)), ElementsAre("a"));
  EXPECT_EQ(backendElements(), 1U);
}

TEST_F(EbpfTraffic, ServesWithoutTheAgentAndAfterItsRestart) {
  const auto both = stateOf(
      {service("web", "10.43.0.10", 80, {0, 1, 2}), service("dns", "10.43.0.11", 53, {1}, "udp")});
  dataplane_->syncAll(both);
  dataplane_.reset();  // the agent is gone: pinned programs and maps keep serving
  EXPECT_EQ(pods(fromClient("tcp", "10.43.0.10", 80, 15)), (std::set<std::string>{"a", "b", "c"}));

  dataplane_ = makeDataplane();  // restarted: a full sync of what the API says now
  dataplane_->syncAll(stateOf({service("web", "10.43.0.10", 80, {2})}));
  EXPECT_THAT(pods(fromClient("tcp", "10.43.0.10", 80, 10)), ElementsAre("c"));
  EXPECT_THAT(fromClient("udp", "10.43.0.11", 53, 1, 0.3), ElementsAre("TIMEOUT"));
  EXPECT_EQ(backendElements(), 1U);
}

TEST_F(EbpfTraffic, NoConnectionFailsWhileTheAgentRestarts) {
  const auto state = stateOf({service("web", "10.43.0.10", 80, {0, 1, 2})});
  dataplane_->syncAll(state);
  auto client =
      std::async(std::launch::async, [&] { return fromClient("tcp", "10.43.0.10", 80, 300); });
  int restarts = 0;
  while (client.wait_for(std::chrono::milliseconds(0)) != std::future_status::ready) {
    dataplane_.reset();
    dataplane_ = makeDataplane();  // new programs swapped into the pinned links
    dataplane_->syncAll(state);    // every Service written under a new generation
    ++restarts;
  }
  const auto lines = client.get();
  ASSERT_EQ(lines.size(), 300U);
  EXPECT_EQ(pods(lines), (std::set<std::string>{"a", "b", "c"}));
  EXPECT_GT(restarts, 1);
}

// With `northSouth` the nftables table of the node serves traffic from outside (here run in
// the node's namespace, where that table lives), while the client's own sockets are still
// translated at connect; cleanup removes both.
TEST_F(EbpfTraffic, NodePortFromOutsideIsServedByTheNftablesTable) {
  auto web = service("web", "10.43.0.10", 80, {1});
  web.nodePort = 30080;
  const EbpfOptions options{.pinDir = pins_->path(),
                            .cgroup = cgroup_->path(),
                            .northSouth = nft::RulesOptions{.clusterCidr = "10.42.0.0/16"}};
  dataplane_.reset();
  net_->inNode([&] { EbpfDataplane(options).syncAll(stateOf({web})); });
  // A process outside the cgroup: only the node's table can have sent it to pod b.
  EXPECT_THAT(pods(fromClient("tcp", "10.99.0.1", 30080, 3, 2.0, /*inCgroup=*/false)),
              ElementsAre("b"));
  EXPECT_THAT(pods(fromClient("tcp", "10.43.0.10", 80, 3)), ElementsAre("b"));

  net_->inNode([&] { EbpfDataplane(options).cleanup(); });
  EXPECT_THAT(net_->run(net_->nodeNs(), "nft list tables"),
              ::testing::Not(::testing::HasSubstr("kite-proxy")));
  EXPECT_FALSE(std::filesystem::exists(pins_->path()));
}

TEST_F(EbpfTraffic, SocketsOutsideTheCgroupAreLeftAlone) {
  dataplane_->syncAll(stateOf({service("web", "10.43.0.10", 80, {0})}));
  EXPECT_THAT(fromClient("tcp", "10.43.0.10", 80, 1, 0.3, /*inCgroup=*/false),
              ElementsAre("TIMEOUT"));
  EXPECT_THAT(pods(fromClient("tcp", "10.43.0.10", 80, 1)), ElementsAre("a"));
}

TEST_F(EbpfTraffic, CleanupDetachesAndUnpinsEverything) {
  dataplane_->syncAll(stateOf({service("web", "10.43.0.10", 80, {0})}));
  dataplane_->cleanup();
  EXPECT_FALSE(std::filesystem::exists(pins_->path()));
  EXPECT_THAT(fromClient("tcp", "10.43.0.10", 80, 1, 0.3), ElementsAre("TIMEOUT"));
  EXPECT_EQ(ebpf::testing::capture("bpftool cgroup show " + cgroup_->path()), "");
}

}  // namespace
}  // namespace kite::proxy
