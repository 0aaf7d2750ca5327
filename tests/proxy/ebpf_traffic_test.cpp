// What only the eBPF backend does, with real traffic (socket-level translation, no
// nftables): the programs attach to a cgroup v2 child the test creates, and only the test's
// client processes are moved into it, so the host's own connections are never rewritten.
// Pods and the client live in the network namespaces of netns.h. The Service cases every
// backend runs are in service_traffic_test.cpp. Root only (CI runs as root).

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <future>
#include <memory>
#include <set>

#include "kite/ebpf/sock_lb.h"
#include "kite/proxy/ebpf_dataplane.h"
#include "netns.h"
#include "scratch.h"
#include "traffic.h"

namespace kite::proxy {
namespace {

using ::testing::ElementsAre;
using testing::kPodPort;
using testing::peers;
using testing::pods;
using testing::stateOf;

class EbpfTraffic : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root for BPF and network namespaces";
    net_ = std::make_unique<testing::TestNetwork>(3, kPodPort);
    cgroup_ = std::make_unique<ebpf::testing::TestCgroup>();
    pins_ = std::make_unique<ebpf::testing::TestPinDir>();
    dataplane_ = makeDataplane();
  }

  void TearDown() override { dataplane_.reset(); }

  std::unique_ptr<EbpfDataplane> makeDataplane() const {
    return std::make_unique<EbpfDataplane>(EbpfOptions{
        .pinDir = pins_->path(), .cgroup = cgroup_->path(), .northSouth = std::nullopt});
  }

  ServicePortState service(const std::string& name, const std::string& ip, int port,
                           const std::vector<int>& pods, const std::string& proto = "tcp") const {
    return testing::service(*net_, name, ip, port, pods, proto);
  }

  // `count` attempts from the client namespace, by a process inside the test's cgroup
  // (`inCgroup`) or outside it; each answer with the peer the client's socket saw. mode: tcp,
  // tcp6 (an IPv6 socket to the IPv4-mapped address), udp (connected) or udp-sendto.
  std::vector<std::string> fromClient(const std::string& mode, const std::string& ip, int port,
                                      int count, double timeout = 2.0, bool inCgroup = true) const {
    testing::ClientOptions options{.timeout = timeout, .showPeer = true};
    if (inCgroup) options.wrap = [this](const std::string& c) { return cgroup_->wrap(c); };
    return net_->connect(net_->clientNs(), mode, ip, port, count, options);
  }

  // Backends held now, in kite_backends and inline in the Service elements.
  ebpf::testing::HeldBackends held() const {
    return ebpf::testing::heldBackends(pins_->path(), cgroup_->path());
  }
  std::size_t backendElements() const { return held().total(); }

  std::unique_ptr<testing::TestNetwork> net_;
  std::unique_ptr<ebpf::testing::TestCgroup> cgroup_;
  std::unique_ptr<ebpf::testing::TestPinDir> pins_;
  std::unique_ptr<EbpfDataplane> dataplane_;
};

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

TEST_F(EbpfTraffic, SocketsOutsideTheCgroupAreLeftAlone) {
  dataplane_->syncAll(stateOf({service("web", "10.43.0.10", 80, {0})}));
  EXPECT_THAT(fromClient("tcp", "10.43.0.10", 80, 1, 0.3, /*inCgroup=*/false),
              ElementsAre("TIMEOUT"));
  EXPECT_THAT(pods(fromClient("tcp", "10.43.0.10", 80, 1)), ElementsAre("a"));
}

// Told which ports changed, the backend writes those only: a port outside `keys` keeps its
// map elements even though the next state differs there (the default syncChangedKeys
// compares everything and would move "api" as well).
TEST_F(EbpfTraffic, AKeyedChangeWritesTheNamedPortsOnly) {
  const auto web = service("web", "10.43.0.10", 80, {0});
  const auto api = service("api", "10.43.0.12", 80, {0});
  const auto applied = stateOf({web, api});
  dataplane_->syncAll(applied);
  const auto webMoved = service("web", "10.43.0.10", 80, {1});
  const auto apiMoved = service("api", "10.43.0.12", 80, {2});
  const auto added = service("db", "10.43.0.13", 80, {2});
  dataplane_->syncChangedKeys(applied, stateOf({webMoved, apiMoved, added}),
                              {webMoved.key(), added.key()});
  EXPECT_THAT(pods(fromClient("tcp", "10.43.0.10", 80, 5)), ElementsAre("b"));
  EXPECT_THAT(pods(fromClient("tcp", "10.43.0.13", 80, 5)), ElementsAre("c"));
  EXPECT_THAT(pods(fromClient("tcp", "10.43.0.12", 80, 5)), ElementsAre("a"));
  EXPECT_EQ(backendElements(), 3U);  // web's old generation is gone

  // A removed port named in the keys goes; the unnamed one stays.
  dataplane_->syncChangedKeys(stateOf({webMoved, api, added}), stateOf({api, added}),
                              {webMoved.key()});
  EXPECT_THAT(fromClient("tcp", "10.43.0.10", 80, 1, 0.3), ElementsAre("TIMEOUT"));
  EXPECT_THAT(pods(fromClient("tcp", "10.43.0.12", 80, 5)), ElementsAre("a"));
  EXPECT_EQ(backendElements(), 2U);
}

// Short backend lists ride in the Service's own element (a connect reads one map); longer ones
// live in kite_backends. Both spread over every endpoint, and a list that shrinks or grows
// across the bound moves between the two without leaving elements behind.
TEST_F(EbpfTraffic, LongBackendListsLiveInTheirOwnMapShortOnesInline) {
  static_assert(KITE_INLINE_BACKENDS < 9);
  const std::vector<int> nine{0, 1, 2, 0, 1, 2, 0, 1, 2};  // nine endpoints, three pods
  const auto longList = stateOf({service("web", "10.43.0.10", 80, nine)});
  dataplane_->syncAll(longList);
  EXPECT_EQ(held().inMap, 9U);
  EXPECT_EQ(held().inlined, 0U);
  EXPECT_THAT(pods(fromClient("tcp", "10.43.0.10", 80, 40)),
              ::testing::UnorderedElementsAre("a", "b", "c"));

  const auto shortList = stateOf({service("web", "10.43.0.10", 80, {1, 2})});
  dataplane_->syncChanges(longList, shortList);
  EXPECT_EQ(held().inMap, 0U);
  EXPECT_EQ(held().inlined, 2U);
  EXPECT_THAT(pods(fromClient("tcp", "10.43.0.10", 80, 20)),
              ::testing::UnorderedElementsAre("b", "c"));
  EXPECT_THAT(peers(fromClient("tcp", "10.43.0.10", 80, 5)), ElementsAre("10.43.0.10:80"));

  dataplane_->syncChanges(shortList, longList);
  EXPECT_EQ(held().inMap, 9U);
  EXPECT_EQ(held().inlined, 0U);
}

}  // namespace
}  // namespace kite::proxy
