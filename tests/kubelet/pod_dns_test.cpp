#include "kite/kubelet/pod_dns.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config_test_util.h"
#include "kite/kubelet/sandbox_config_error.h"

namespace kite::kubelet {
namespace {

using testing::basicPod;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using testing::TempDir;
using ::testing::UnorderedElementsAre;

std::vector<std::string> list(const google::protobuf::RepeatedPtrField<std::string>& field) {
  return {field.begin(), field.end()};
}

class PodDnsTest : public ::testing::Test {
 protected:
  PodDnsTest() {
    settings_.hostResolvConf = dir_.write("resolv.conf",
                                          "# the node's\n"
                                          "nameserver 192.168.1.1\n"
                                          "nameserver 192.168.1.2\n"
                                          "search corp.example. lab.example\n"
                                          "options timeout:2 attempts:3\n");
    settings_.clusterDNS = {"10.96.0.10"};
    settings_.clusterDomain = "cluster.local";
  }

  TempDir dir_;
  DnsSettings settings_;
  api::core::v1::Pod pod_ = basicPod();
};

TEST(ParseResolvConf, FollowsUpstreamRules) {
  const ResolvConf conf = parseResolvConf(
      "nameserver 1.1.1.1\n"
      "  # a comment\n"
      "search old.example\n"
      "search a.example. . b.example\n"  // the last search line wins; "." is dropped
      "nameserver 8.8.8.8 ignored-extra\n"
      "options ndots:2 rotate\n"
      "options ndots:3\n");  // a later option replaces one of the same name
  EXPECT_THAT(conf.servers, ElementsAre("1.1.1.1", "8.8.8.8"));
  EXPECT_THAT(conf.searches, ElementsAre("a.example", "b.example"));
  EXPECT_THAT(conf.options, ElementsAre("ndots:3", "rotate"));
  EXPECT_THROW(parseResolvConf("nameserver\n"), SandboxConfigError);
}

TEST_F(PodDnsTest, ClusterFirstUsesClusterDnsAndSearchesThenTheHosts) {
  const auto dns = podDnsConfig(pod_, settings_);
  EXPECT_THAT(list(dns.servers()), ElementsAre("10.96.0.10"));
  EXPECT_THAT(list(dns.searches()), ElementsAre("shop.svc.cluster.local", "svc.cluster.local",
                                                "cluster.local", "corp.example", "lab.example"));
  EXPECT_THAT(list(dns.options()), ElementsAre("ndots:5"));
}

TEST_F(PodDnsTest, ClusterFirstWithHostNetworkBehavesAsDefault) {
  pod_.spec.hostNetwork = true;
  const auto dns = podDnsConfig(pod_, settings_);
  EXPECT_THAT(list(dns.servers()), ElementsAre("192.168.1.1", "192.168.1.2"));
  EXPECT_THAT(list(dns.searches()), ElementsAre("corp.example", "lab.example"));
  EXPECT_THAT(list(dns.options()), ElementsAre("timeout:2", "attempts:3"));
}

TEST_F(PodDnsTest, ClusterFirstWithHostNetUsesClusterDnsOnTheHostNetwork) {
  pod_.spec.hostNetwork = true;
  pod_.spec.dnsPolicy = "ClusterFirstWithHostNet";
  const auto dns = podDnsConfig(pod_, settings_);
  EXPECT_THAT(list(dns.servers()), ElementsAre("10.96.0.10"));
  EXPECT_EQ(dns.searches(0), "shop.svc.cluster.local");
}

TEST_F(PodDnsTest, DefaultUsesTheNodesResolvConf) {
  pod_.spec.dnsPolicy = "Default";
  const auto dns = podDnsConfig(pod_, settings_);
  EXPECT_THAT(list(dns.servers()), ElementsAre("192.168.1.1", "192.168.1.2"));
  EXPECT_THAT(list(dns.searches()), ElementsAre("corp.example", "lab.example"));
  EXPECT_THAT(list(dns.options()), ElementsAre("timeout:2", "attempts:3"));
}

TEST_F(PodDnsTest, NoneUsesOnlyTheDnsConfig) {
  pod_.spec.dnsPolicy = "None";
  EXPECT_THAT(list(podDnsConfig(pod_, settings_).servers()), IsEmpty());
  api::core::v1::PodDNSConfig extra;
  extra.nameservers = {"1.2.3.4"};
  extra.searches = {"my.example"};
  extra.options = {{"ndots", std::string("2")}, {"edns0", std::nullopt}};
  pod_.spec.dnsConfig = extra;
  const auto dns = podDnsConfig(pod_, settings_);
  EXPECT_THAT(list(dns.servers()), ElementsAre("1.2.3.4"));
  EXPECT_THAT(list(dns.searches()), ElementsAre("my.example"));
  EXPECT_THAT(list(dns.options()), ElementsAre("ndots:2", "edns0"));
}

TEST_F(PodDnsTest, DnsConfigIsMergedIntoThePolicysResult) {
  api::core::v1::PodDNSConfig extra;
  extra.nameservers = {"10.96.0.10", "1.2.3.4"};  // a duplicate is dropped
  extra.searches = {"svc.cluster.local", "extra.example"};
  extra.options = {{"ndots", std::string("1")}, {"single-request", std::nullopt}};
  pod_.spec.dnsConfig = extra;
  const auto dns = podDnsConfig(pod_, settings_);
  EXPECT_THAT(list(dns.servers()), ElementsAre("10.96.0.10", "1.2.3.4"));
  EXPECT_THAT(list(dns.searches()),
              ElementsAre("shop.svc.cluster.local", "svc.cluster.local", "cluster.local",
                          "corp.example", "lab.example", "extra.example"));
  EXPECT_THAT(list(dns.options()), UnorderedElementsAre("ndots:1", "single-request"));
}

TEST_F(PodDnsTest, MissingClusterDnsFallsBackToDefaultWithAWarning) {
  settings_.clusterDNS.clear();
  std::vector<ConfigWarning> warnings;
  const auto dns = podDnsConfig(pod_, settings_, &warnings);
  EXPECT_THAT(list(dns.servers()), ElementsAre("192.168.1.1", "192.168.1.2"));
  ASSERT_EQ(warnings.size(), 1U);
  EXPECT_EQ(warnings[0].reason, "MissingClusterDNS");
}

TEST_F(PodDnsTest, WithoutAResolvConfDefaultPodsUseTheNodesLoopback) {
  settings_.hostResolvConf.clear();
  settings_.nodeIPs = {"192.168.1.10", "fd00::10"};
  pod_.spec.dnsPolicy = "Default";
  const auto dns = podDnsConfig(pod_, settings_);
  EXPECT_THAT(list(dns.servers()), ElementsAre("127.0.0.1", "::1"));
  EXPECT_THAT(list(dns.searches()), ElementsAre("."));
}

TEST_F(PodDnsTest, AtMostThreeNameservers) {
  pod_.spec.dnsPolicy = "None";
  api::core::v1::PodDNSConfig extra;
  extra.nameservers = {"1.1.1.1", "2.2.2.2", "3.3.3.3", "4.4.4.4"};
  pod_.spec.dnsConfig = extra;
  std::vector<ConfigWarning> warnings;
  const auto dns = podDnsConfig(pod_, settings_, &warnings);
  EXPECT_THAT(list(dns.servers()), ElementsAre("1.1.1.1", "2.2.2.2", "3.3.3.3"));
  ASSERT_EQ(warnings.size(), 1U);
  EXPECT_EQ(warnings[0].reason, "DNSConfigForming");
}

TEST_F(PodDnsTest, AtMost32SearchDomainsOfAtMost253Characters) {
  pod_.spec.dnsPolicy = "None";
  api::core::v1::PodDNSConfig extra;
  extra.searches.emplace_back(254, 'a');  // dropped: too long for glibc
  for (int i = 0; i < 40; ++i) extra.searches.push_back("d" + std::to_string(i) + ".example");
  pod_.spec.dnsConfig = extra;
  std::vector<ConfigWarning> warnings;
  const auto dns = podDnsConfig(pod_, settings_, &warnings);
  ASSERT_EQ(dns.searches_size(), 31);  // the 32 first, less the long one
  EXPECT_EQ(dns.searches(0), "d0.example");
  EXPECT_EQ(dns.searches(30), "d30.example");
  EXPECT_FALSE(warnings.empty());
}

TEST_F(PodDnsTest, SearchLineIsCutTo2048Characters) {
  pod_.spec.dnsPolicy = "None";
  api::core::v1::PodDNSConfig extra;
  for (char c = 'a'; c < 'k'; ++c) extra.searches.push_back(std::string(249, c) + ".com");
  pod_.spec.dnsConfig = extra;
  const auto dns = podDnsConfig(pod_, settings_);
  // 253 characters each plus a space: 8 fit (2031), 9 do not (2285).
  EXPECT_EQ(dns.searches_size(), 8);
}

TEST_F(PodDnsTest, UnreadableResolvConfFailsTheSandbox) {
  settings_.hostResolvConf = dir_.path() / "missing";
  EXPECT_THROW(podDnsConfig(pod_, settings_), SandboxConfigError);
}

}  // namespace
}  // namespace kite::kubelet
