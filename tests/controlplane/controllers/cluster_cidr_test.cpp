#include "cluster_cidr.h"

#include <gtest/gtest.h>

#include <stdexcept>

namespace kite::controlplane::controllers {
namespace {

TEST(ClusterCidr, FirstServiceIp) {
  EXPECT_EQ(clusterFirstServiceIp("10.43.0.0/16"), "10.43.0.1");
  EXPECT_EQ(clusterFirstServiceIp("10.96.5.7/12"), "10.96.0.1");
  EXPECT_THROW(clusterFirstServiceIp("10.43.0.0"), std::invalid_argument);
  EXPECT_THROW(clusterFirstServiceIp("10.43.0.256/16"), std::invalid_argument);
  EXPECT_THROW(clusterFirstServiceIp("10.43.0.0/33"), std::invalid_argument);
}

TEST(ClusterCidrAllocator, HandsOutLowestFreeSubnet) {
  ClusterCidrAllocator a("10.42.0.0/16", 24);
  EXPECT_EQ(a.capacity(), 256U);
  EXPECT_EQ(a.allocate(), "10.42.0.0/24");
  EXPECT_EQ(a.allocate(), "10.42.1.0/24");
  a.release("10.42.0.0/24");
  EXPECT_EQ(a.allocate(), "10.42.0.0/24");
  EXPECT_EQ(a.allocate(), "10.42.2.0/24");
  EXPECT_EQ(a.used(), 3U);
}

TEST(ClusterCidrAllocator, RecoversOccupiedSubnets) {
  ClusterCidrAllocator a("10.42.0.0/16", 24);
  EXPECT_TRUE(a.occupy("10.42.0.0/24"));
  EXPECT_TRUE(a.occupy("10.42.2.0/24"));
  EXPECT_FALSE(a.occupy("10.43.0.0/24"));  // outside the range
  EXPECT_FALSE(a.occupy("10.42.3.0/25"));  // another size
  EXPECT_FALSE(a.occupy("garbage"));
  EXPECT_EQ(a.allocate(), "10.42.1.0/24");
  EXPECT_EQ(a.allocate(), "10.42.3.0/24");
}

TEST(ClusterCidrAllocator, Exhaustion) {
  ClusterCidrAllocator a("10.42.0.0/23", 24);
  EXPECT_TRUE(a.allocate());
  EXPECT_TRUE(a.allocate());
  EXPECT_FALSE(a.allocate());
  a.release("10.42.1.0/24");
  EXPECT_EQ(a.allocate(), "10.42.1.0/24");
}

TEST(ClusterCidrAllocator, RejectsMaskThatDoesNotFit) {
  EXPECT_THROW(ClusterCidrAllocator("10.42.0.0/16", 8), std::invalid_argument);
  EXPECT_THROW(ClusterCidrAllocator("10.42.0.0/16", 31), std::invalid_argument);
}

}  // namespace
}  // namespace kite::controlplane::controllers
