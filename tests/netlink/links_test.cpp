// Links and addresses through kite_netlink in a namespace of the test's own: a dummy link (a
// bridge on kernels without dummy links) is
// made (twice: no error), set up, given a Service address that a socket can then bind and a
// second namespace can connect to, listed, and removed again with its addresses.

#include "kite/netlink/links.h"

#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <memory>

#include "scratch_namespace.h"

namespace kite::netlink {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

// 0 when a TCP socket of this thread's namespace can bind address:port, else the errno.
int bindError(const char* address, int port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<std::uint16_t>(port));
  inet_pton(AF_INET, address, &sa.sin_addr);
  // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast): the sockets API
  const int rc = bind(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof(sa));
  const int error = rc == 0 ? 0 : errno;
  close(fd);
  return error;
}

class LinksTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root for network namespaces";
    node_ = std::make_unique<testing::ScratchNamespace>();
    // Some VM kernels are built without dummy links; a port-less bridge carries local
    // addresses just as well (the userspace proxy falls back to it the same way).
    kind_ = node_->output("ip link add kprobe0 type dummy 2>/dev/null && echo ok") == "ok\n"
                ? "dummy"
                : "bridge";
    node_->output("ip link del kprobe0 2>/dev/null");
  }
  std::unique_ptr<testing::ScratchNamespace> node_;
  std::string kind_;
};

TEST_F(LinksTest, DummyLinkCarriesServiceAddressesUntilRemoved) {
  {
    testing::Entered inside(*node_);
    Links links;
    EXPECT_FALSE(links.find("kite-svc0").has_value());
    links.add("kite-svc0", kind_);
    links.add("kite-svc0", kind_);  // already there: fine
    auto link = links.find("kite-svc0");
    ASSERT_TRUE(link.has_value());
    EXPECT_EQ(link->kind, kind_);
    EXPECT_EQ(link->name, "kite-svc0");
    EXPECT_FALSE(link->up);
    links.setUp("kite-svc0");
    EXPECT_TRUE(links.find("kite-svc0")->up);

    EXPECT_EQ(bindError("10.43.0.10", 80), EADDRNOTAVAIL);
    links.addAddress("kite-svc0", "10.43.0.10/32");
    links.addAddress("kite-svc0", "10.43.0.10/32");  // already there: fine
    links.addAddress("kite-svc0", "10.43.0.11/32");
    links.addAddress("kite-svc0", "fd00:43::10/128");
    // Besides the kernel's own IPv6 link-local address (fe80::, once the link is up).
    auto listed = links.addresses("kite-svc0");
    std::erase_if(listed, [](const std::string& a) { return a.starts_with("fe80:"); });
    EXPECT_THAT(listed, ElementsAre("10.43.0.10/32", "10.43.0.11/32", "fd00:43::10/128"));
    // The node now owns the address: a listener can bind it.
    EXPECT_EQ(bindError("10.43.0.10", 80), 0);

    EXPECT_TRUE(links.removeAddress("kite-svc0", "10.43.0.11/32"));
    EXPECT_FALSE(links.removeAddress("kite-svc0", "10.43.0.11/32"));
    EXPECT_EQ(bindError("10.43.0.11", 80), EADDRNOTAVAIL);
  }
  EXPECT_THAT(node_->output("ip -4 addr show dev kite-svc0"), HasSubstr("inet 10.43.0.10/32"));
  EXPECT_THAT(node_->output("ip -d link show kite-svc0"), HasSubstr(kind_));

  {
    testing::Entered inside(*node_);
    Links links;
    EXPECT_TRUE(links.remove("kite-svc0"));
    EXPECT_FALSE(links.remove("kite-svc0"));
    EXPECT_FALSE(links.find("kite-svc0").has_value());
    EXPECT_EQ(bindError("10.43.0.10", 80), EADDRNOTAVAIL);
  }
  EXPECT_THAT(node_->output("ip addr"), Not(HasSubstr("10.43.0.10")));
}

TEST_F(LinksTest, AddressOnTheDummyIsReachedFromAnotherNamespace) {
  testing::ScratchNamespace client;
  testing::hostSh("ip -n " + node_->name() + " link add eth0 type veth peer name eth0 netns " +
                  client.name());
  node_->sh("ip addr add 10.97.0.1/24 dev eth0 && ip link set eth0 up");
  client.sh(
      "ip addr add 10.97.0.2/24 dev eth0 && ip link set eth0 up && "
      "ip route add 10.43.0.0/16 via 10.97.0.1");
  int listener = -1;
  {
    testing::Entered inside(*node_);
    Links links;
    links.add("kite-svc0", kind_);
    links.setUp("kite-svc0");
    links.addAddress("kite-svc0", "10.43.0.10/32");
    // A listener of the node's namespace on the Service address (the kernel completes the
    // handshake into its backlog; nobody needs to accept).
    listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(7000);
    inet_pton(AF_INET, "10.43.0.10", &sa.sin_addr);
    // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast): the sockets API
    ASSERT_EQ(bind(listener, reinterpret_cast<const sockaddr*>(&sa), sizeof(sa)), 0);
    ASSERT_EQ(listen(listener, 8), 0);
  }
  EXPECT_EQ(client.output("/usr/bin/python3 -c 'import socket\n"
                          "socket.create_connection((\"10.43.0.10\", 7000), timeout=3)\n"
                          "print(\"ok\")' 2>&1"),
            "ok\n");
  close(listener);
}

TEST_F(LinksTest, BadInputIsRefusedClearly) {
  testing::Entered inside(*node_);
  Links links;
  EXPECT_THROW(links.addDummy("a-name-far-too-long"), std::invalid_argument);
  EXPECT_THROW(links.addDummy("bad/name"), std::invalid_argument);
  // lo is no dummy.
  try {
    links.addDummy("lo");
    FAIL() << "no error";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code().value(), EEXIST);
    EXPECT_THAT(e.what(), HasSubstr("not a dummy"));
  }
  EXPECT_THROW(links.setUp("kite-nothing"), std::system_error);
  EXPECT_THROW(links.addAddress("kite-nothing", "10.43.0.10/32"), std::system_error);
  if (kind_ != "dummy") {
    try {
      links.addDummy("kite-svc0");
      FAIL() << "no error";
    } catch (const std::system_error& e) {
      EXPECT_EQ(e.code().value(), EOPNOTSUPP);
      EXPECT_THAT(e.what(), HasSubstr("no dummy links"));
    }
  }
  links.add("kite-svc0", kind_);
  try {
    links.addAddress("kite-svc0", "10.43.0.300/32");
    FAIL() << "no error";
  } catch (const std::invalid_argument& e) {
    EXPECT_THAT(e.what(), HasSubstr("address"));
  }
  EXPECT_THROW(links.addAddress("kite-svc0", "10.43.0.10"), std::invalid_argument);
}

}  // namespace
}  // namespace kite::netlink
