// enableBridgeNetfilter: a sysctl tree of the test's own for the module-loading paths, and a
// network namespace of the test's own for the real sysctls (they are per namespace; the
// host's are read before and after, never written).
#include "kite/proxy/bridge_netfilter.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "netns.h"

namespace kite::proxy {
namespace {

namespace fs = std::filesystem;

std::string read(const fs::path& file) {
  std::ifstream in(file);
  std::string value;
  in >> value;
  return value;
}

void write(const fs::path& file, const std::string& value) {
  fs::create_directories(file.parent_path());
  std::ofstream(file) << value << "\n";
}

class BridgeNetfilterTree : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = fs::temp_directory_path() / "kite-brnf-XXXXXX";
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    root_ = pattern;
  }
  void TearDown() override { fs::remove_all(root_); }

  fs::path iptables() const { return root_ / "net/bridge/bridge-nf-call-iptables"; }
  fs::path ip6tables() const { return root_ / "net/bridge/bridge-nf-call-ip6tables"; }

  fs::path root_;
};

TEST_F(BridgeNetfilterTree, LoadsTheModuleWhenItsSysctlsAreMissingThenSetsBoth) {
  int loads = 0;
  const auto missing = enableBridgeNetfilter({.procSys = root_.string(), .loadModule = [&] {
                                                ++loads;  // the module appears with both off
                                                write(iptables(), "0");
                                                write(ip6tables(), "0");
                                                return true;
                                              }});
  EXPECT_EQ(missing, "");
  EXPECT_EQ(loads, 1);
  EXPECT_EQ(read(iptables()), "1");
  EXPECT_EQ(read(ip6tables()), "1");
}

TEST_F(BridgeNetfilterTree, LoadedModuleIsNotLoadedAgain) {
  write(iptables(), "1");
  write(ip6tables(), "0");
  int loads = 0;
  EXPECT_EQ(enableBridgeNetfilter({.procSys = root_.string(),
                                   .loadModule =
                                       [&] {
                                         ++loads;
                                         return true;
                                       }}),
            "");
  EXPECT_EQ(loads, 0);
  EXPECT_EQ(read(ip6tables()), "1");
}

TEST_F(BridgeNetfilterTree, AModuleThatCannotBeLoadedIsSaidNotThrown) {
  const auto missing =
      enableBridgeNetfilter({.procSys = root_.string(), .loadModule = [] { return false; }});
  EXPECT_NE(missing.find("br_netfilter is not loaded"), std::string::npos) << missing;
  EXPECT_NE(missing.find("NetworkPolicy"), std::string::npos) << missing;
  EXPECT_FALSE(fs::exists(root_ / "net/bridge"));
}

// The real sysctls, turned off in a namespace of the test's own and set again from a thread
// inside it; the host's values are left as they were.
TEST(BridgeNetfilterNetns, SetsBothInTheCallersNamespaceOnly) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root for a network namespace";
  if (!fs::exists("/proc/sys/net/bridge/bridge-nf-call-iptables")) {
    GTEST_SKIP() << "br_netfilter is not loaded here (the test does not load modules)";
  }
  const std::string hostV4 = read("/proc/sys/net/bridge/bridge-nf-call-iptables");
  const std::string hostV6 = read("/proc/sys/net/bridge/bridge-nf-call-ip6tables");
  const std::string ns = "kite-brnf-" + std::to_string(getpid());
  testing::addNamespace(ns, false);
  const std::string sysctl = "ip netns exec " + ns + " sysctl -n ";
  testing::sh("ip netns exec " + ns +
              " sysctl -qw net.bridge.bridge-nf-call-iptables=0 "
              "net.bridge.bridge-nf-call-ip6tables=0");
  ASSERT_EQ(testing::capture(sysctl + "net.bridge.bridge-nf-call-iptables"), "0\n");
  std::string missing = "not run";
  testing::inNamespace(ns, [&] { missing = enableBridgeNetfilter(); });
  const std::string v4 = testing::capture(sysctl + "net.bridge.bridge-nf-call-iptables");
  const std::string v6 = testing::capture(sysctl + "net.bridge.bridge-nf-call-ip6tables");
  testing::sh("ip netns del " + ns);
  EXPECT_EQ(missing, "");
  EXPECT_EQ(v4, "1\n");
  EXPECT_EQ(v6, "1\n");
  EXPECT_EQ(read("/proc/sys/net/bridge/bridge-nf-call-iptables"), hostV4);
  EXPECT_EQ(read("/proc/sys/net/bridge/bridge-nf-call-ip6tables"), hostV6);
}

}  // namespace
}  // namespace kite::proxy
