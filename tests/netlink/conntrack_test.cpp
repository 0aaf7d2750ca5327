// Conntrack entries made by real UDP traffic through a DNAT in a namespace of the test's own,
// listed and deleted through kite_netlink; /proc/net/nf_conntrack (the kernel's own view)
// shows the result.

#include "kite/netlink/conntrack.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>

#include "scratch_namespace.h"

namespace kite::netlink {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// Two "Services" DNATed to two "endpoints" on the namespace's own address; one datagram
// through each, answered (the answer names the endpoint's port).
constexpr const char* kTraffic = R"(
import socket
servers = {}
for port in (5353, 5354):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("10.0.0.2", port))
    servers[port] = s
for service, port in (("10.43.0.10", 5353), ("10.43.0.11", 5354)):
    c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    c.settimeout(2)
    c.sendto(b"ping", (service, 53))
    data, addr = servers[port].recvfrom(100)
    servers[port].sendto(b"pong-%d" % port, addr)
    print(c.recv(100).decode())
)";

class ConntrackTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root for network namespaces";
    ns_ = std::make_unique<testing::ScratchNamespace>();
    // (This kernel has no dummy links: a veth pair inside the namespace stands in.)
    ns_->sh(
        "ip link add v0 type veth peer name v1 && ip addr add 10.0.0.2/24 dev v0 && "
        "ip link set v1 up && ip link set v0 up && ip route add default dev v0");
    ns_->sh(
        "nft -f - <<'EOF'\n"
        "table ip t {\n"
        "  chain out { type nat hook output priority -100; \n"
        "    ip daddr 10.43.0.10 udp dport 53 dnat to 10.0.0.2:5353\n"
        "    ip daddr 10.43.0.11 udp dport 53 dnat to 10.0.0.2:5354\n"
        "  }\n"
        "}\n"
        "EOF");
  }

  std::string traffic() {
    return ns_->output("/usr/bin/python3 -c '" + std::string(kTraffic) + "'");
  }
  std::string kernelTable() { return ns_->output("cat /proc/net/nf_conntrack"); }

  std::unique_ptr<testing::ScratchNamespace> ns_;
};

TEST_F(ConntrackTest, ListsAndDeletesTheEntriesOfOneDnatTarget) {
  ASSERT_EQ(traffic(), "pong-5353\npong-5354\n");
  ASSERT_THAT(kernelTable(), HasSubstr("dst=10.43.0.10"));
  ASSERT_THAT(kernelTable(), HasSubstr("dst=10.43.0.11"));

  testing::Entered inside(*ns_);
  Conntrack ct;
  const auto entries = ct.list(AF_INET);
  const auto toService = std::find_if(entries.begin(), entries.end(), [](const auto& e) {
    return e.original.destination == "10.43.0.10";
  });
  ASSERT_NE(toService, entries.end());
  EXPECT_EQ(toService->protocol, IPPROTO_UDP);
  EXPECT_EQ(toService->original.destinationPort, 53);
  EXPECT_EQ(toService->original.source, "10.0.0.2");
  EXPECT_EQ(toService->reply.source, "10.0.0.2");
  EXPECT_EQ(toService->reply.sourcePort, 5353);

  // What the proxy asks when endpoint 10.0.0.2:5353 leaves Service 10.43.0.10:53/UDP.
  const auto removed = ct.removeIf(AF_INET, [](const ConntrackEntry& e) {
    return e.protocol == IPPROTO_UDP && e.original.destination == "10.43.0.10" &&
           e.original.destinationPort == 53 && e.reply.source == "10.0.0.2" &&
           e.reply.sourcePort == 5353;
  });
  EXPECT_EQ(removed, 1U);
  EXPECT_THAT(kernelTable(), Not(HasSubstr("dst=10.43.0.10")));
  EXPECT_THAT(kernelTable(), HasSubstr("dst=10.43.0.11"));  // the other Service keeps its own
  // Gone already: not an error.
  EXPECT_FALSE(ct.remove(*toService));
}

TEST_F(ConntrackTest, ABadAddressIsRefusedWithItsField) {
  testing::Entered inside(*ns_);
  Conntrack ct;
  ConntrackEntry bad;
  bad.family = AF_INET;
  bad.protocol = IPPROTO_UDP;
  bad.original = {.source = "10.0.0.2", .destination = "not-an-ip"};
  try {
    ct.remove(bad);
    FAIL() << "no error";
  } catch (const std::invalid_argument& e) {
    EXPECT_THAT(e.what(), HasSubstr("conntrack destination"));
  }
}

}  // namespace
}  // namespace kite::netlink
