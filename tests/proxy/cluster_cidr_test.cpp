#include "kite/proxy/cluster_cidr.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <stdexcept>

namespace kite::proxy {
namespace {

using ::testing::HasSubstr;

TEST(ClusterCidrTest, SingleStackIPv4) {
  const ClusterCidrs cidrs = splitClusterCidrs("10.42.0.0/16");
  EXPECT_EQ(cidrs.ipv4, "10.42.0.0/16");
  EXPECT_EQ(cidrs.ipv6, "");
}

TEST(ClusterCidrTest, DualStackInEitherOrder) {
  for (const char* value : {"10.42.0.0/16,fd00:42::/56", "fd00:42::/56,10.42.0.0/16"}) {
    const ClusterCidrs cidrs = splitClusterCidrs(value);
    EXPECT_EQ(cidrs.ipv4, "10.42.0.0/16") << value;
    EXPECT_EQ(cidrs.ipv6, "fd00:42::/56") << value;
  }
}

TEST(ClusterCidrTest, EmptyNamesNoRange) {
  const ClusterCidrs cidrs = splitClusterCidrs("");
  EXPECT_EQ(cidrs.ipv4, "");
  EXPECT_EQ(cidrs.ipv6, "");
}

TEST(ClusterCidrTest, BadPartsNameTheFlagAndThePart) {
  for (const char* value : {"10.42.0.0", "10.42.0.0/33", "fd00::/129", "nonsense/8", "10.42.0.0/1x",
                            "10.42.0.0/16,", "10.42.0.0/"}) {
    try {
      splitClusterCidrs(value);
      ADD_FAILURE() << value << " accepted";
    } catch (const std::invalid_argument& e) {
      EXPECT_THAT(e.what(), HasSubstr("--cluster-cidr: \"")) << value;
      EXPECT_THAT(e.what(), HasSubstr("is not a CIDR")) << value;
    }
  }
}

TEST(ClusterCidrTest, TwoRangesOfOneFamilyAreRefused) {
  EXPECT_THROW(splitClusterCidrs("10.42.0.0/16,10.43.0.0/16"), std::invalid_argument);
  EXPECT_THROW(splitClusterCidrs("fd00::/64,fd01::/64"), std::invalid_argument);
}

TEST(ClusterCidrTest, IsCidrTakesBothFamilies) {
  EXPECT_TRUE(isCidr("192.168.1.0/24"));
  EXPECT_TRUE(isCidr("fd00::/64"));
  EXPECT_TRUE(isCidr("::/0"));
  EXPECT_FALSE(isCidr("192.168.1.0"));
  EXPECT_FALSE(isCidr("fd00::/-1"));
}

}  // namespace
}  // namespace kite::proxy
