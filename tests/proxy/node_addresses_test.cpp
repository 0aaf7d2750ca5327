#include "kite/proxy/node_addresses.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace kite::proxy {
namespace {

using ::testing::ElementsAre;

TEST(NodeAddressesTest, CidrContainsBothFamilies) {
  EXPECT_TRUE(cidrContains("192.168.1.0/24", "192.168.1.77"));
  EXPECT_FALSE(cidrContains("192.168.1.0/24", "192.168.2.1"));
  EXPECT_TRUE(cidrContains("10.0.0.0/9", "10.127.255.255"));
  EXPECT_FALSE(cidrContains("10.0.0.0/9", "10.128.0.0"));
  EXPECT_TRUE(cidrContains("0.0.0.0/0", "8.8.8.8"));
  EXPECT_TRUE(cidrContains("fd00:1::/64", "fd00:1::5"));
  EXPECT_FALSE(cidrContains("fd00:1::/64", "fd00:2::5"));
  EXPECT_TRUE(cidrContains("fd00::/7", "fdff::1"));
  EXPECT_FALSE(cidrContains("fd00::/8", "fe00::1"));
  // The other family, or text that is no address or CIDR.
  EXPECT_FALSE(cidrContains("0.0.0.0/0", "fd00::1"));
  EXPECT_FALSE(cidrContains("::/0", "10.0.0.1"));
  EXPECT_FALSE(cidrContains("10.0.0.0/33", "10.0.0.1"));
  EXPECT_FALSE(cidrContains("10.0.0.0", "10.0.0.0"));
  EXPECT_FALSE(cidrContains("10.0.0.0/8", "ten"));
}

TEST(NodeAddressesTest, LoopbackAndLinkLocalNeverAnswer) {
  EXPECT_THAT(nodePortAddressesAmong({"127.0.0.1", "::1", "fe80::1", "10.0.0.5", "fd00::5"}, {}),
              ElementsAre("10.0.0.5", "fd00::5"));
}

TEST(NodeAddressesTest, CidrsApplyPerFamily) {
  const std::vector<std::string> addresses{"10.0.0.5", "192.168.1.5", "fd00::5", "fd01::5"};
  // Only IPv4 ranges: IPv6 keeps all its addresses, as the nftables rules do.
  EXPECT_THAT(nodePortAddressesAmong(addresses, {"192.168.1.0/24"}),
              ElementsAre("192.168.1.5", "fd00::5", "fd01::5"));
  EXPECT_THAT(nodePortAddressesAmong(addresses, {"192.168.1.0/24", "fd01::/16"}),
              ElementsAre("192.168.1.5", "fd01::5"));
}

TEST(NodeAddressesTest, LocalAddressesHaveNoLoopback) {
  for (const auto& address : localNodePortAddresses({})) {
    EXPECT_NE(address, "127.0.0.1");
    EXPECT_NE(address, "::1");
  }
}

}  // namespace
}  // namespace kite::proxy
