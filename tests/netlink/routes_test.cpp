// Routes through kite_netlink in namespaces of the test's own: a route to a "remote node's"
// pod CIDR via that node's address (host-gw), taken by real traffic, listed, then removed.

#include "kite/netlink/routes.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <unistd.h>

#include "scratch_namespace.h"

namespace kite::netlink {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// Connects to a TCP server on the "remote pod" address (again while it is still starting,
// i.e. refused, for up to 3 s); prints what it says or the error.
constexpr const char* kConnect = R"(
import socket, time
deadline = time.time() + 3
while True:
    try:
        s = socket.create_connection(("10.244.1.5", 7000), timeout=2)
        print(s.recv(100).decode().strip())
    except ConnectionRefusedError:
        if time.time() < deadline:
            time.sleep(0.02)
            continue
        print("REFUSED")
    except OSError as e:
        print("ERR", e.errno)
    break
)";

class RoutesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root for network namespaces";
    node_ = std::make_unique<testing::ScratchNamespace>();
    remote_ = std::make_unique<testing::ScratchNamespace>();
    testing::hostSh("ip -n " + node_->name() + " link add eth0 type veth peer name eth0 netns " +
                    remote_->name());
    node_->sh("ip addr add 10.98.0.1/24 dev eth0 && ip link set eth0 up");
    // The remote node: its pods' range is 10.244.1.0/24 (one "pod" address on its loopback).
    remote_->sh(
        "ip addr add 10.98.0.2/24 dev eth0 && ip link set eth0 up && "
        "ip addr add 10.244.1.5/32 dev lo");
  }

  // A one-shot server on the remote pod address while the node connects.
  std::string connectFromNode() {
    const std::string server =
        "/usr/bin/python3 -c 'import socket\n"
        "s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
        "s.bind((\"10.244.1.5\", 7000)); s.listen(1); s.settimeout(3)\n"
        "try:\n"
        "    c, _ = s.accept(); c.sendall(b\"remote-pod\\n\"); c.close()\n"
        "except OSError:\n"
        "    pass\n'";
    remote_->sh(server + " >/dev/null 2>&1 &");
    return node_->output("/usr/bin/python3 -c '" + std::string(kConnect) + "'");
  }

  std::unique_ptr<testing::ScratchNamespace> node_;
  std::unique_ptr<testing::ScratchNamespace> remote_;
};

TEST_F(RoutesTest, HostGatewayRouteCarriesTrafficToTheRemotePodCidr) {
  // No route yet: the node cannot reach the remote pods.
  EXPECT_EQ(node_->output("/usr/bin/python3 -c '" + std::string(kConnect) + "'"),
            "ERR 101\n");  // ENETUNREACH
  {
    testing::Entered inside(*node_);
    Routes routes;
    routes.replace({.destination = "10.244.1.0/24", .gateway = "10.98.0.2"});
    routes.replace({.destination = "10.244.1.0/24", .gateway = "10.98.0.2"});  // idempotent
    const auto mine = routes.list(AF_INET, kRouteProtocol);
    ASSERT_EQ(mine.size(), 1U);
    EXPECT_EQ(mine[0].destination, "10.244.1.0/24");
    EXPECT_EQ(mine[0].gateway, "10.98.0.2");
    EXPECT_EQ(mine[0].device, "eth0");
    // The connected route of eth0 is there too, but not kite's.
    EXPECT_EQ(routes.list(AF_INET).size(), 2U);
  }
  EXPECT_THAT(node_->output("ip route show proto 75"), HasSubstr("10.244.1.0/24 via 10.98.0.2"));
  EXPECT_EQ(connectFromNode(), "remote-pod\n");

  {
    testing::Entered inside(*node_);
    Routes routes;
    EXPECT_TRUE(routes.remove({.destination = "10.244.1.0/24", .gateway = "10.98.0.2"}));
    EXPECT_FALSE(routes.remove({.destination = "10.244.1.0/24", .gateway = "10.98.0.2"}));
    EXPECT_TRUE(routes.list(AF_INET, kRouteProtocol).empty());
  }
  EXPECT_THAT(node_->output("ip route show"), Not(HasSubstr("10.244.1.0")));
}

TEST_F(RoutesTest, BadRoutesAreRefusedClearly) {
  testing::Entered inside(*node_);
  Routes routes;
  // A gateway on no attached network.
  EXPECT_THROW(routes.replace({.destination = "10.244.2.0/24", .gateway = "192.0.2.1"}),
               std::system_error);
  try {
    routes.replace({.destination = "10.244.2.0/33", .gateway = "10.98.0.2"});
    FAIL() << "no error";
  } catch (const std::invalid_argument& e) {
    EXPECT_THAT(e.what(), HasSubstr("route destination"));
  }
  EXPECT_THROW(routes.replace({.destination = "10.244.2.0/24", .gateway = "fd00::1"}),
               std::invalid_argument);
}

}  // namespace
}  // namespace kite::netlink
