// /etc/kite/config.yaml: keys become the flags of `kite server` / `kite agent`.

#include "config_file.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

namespace kite::cmd {
namespace {

class ConfigFileTest : public ::testing::Test {
 protected:
  ConfigFileTest() {
    auto* server = app_.add_subcommand("server");
    server->add_option("--data-dir,-d", dataDir_);
    server->add_option("--tls-san", sans_);
    server->add_flag("--disable-agent", disableAgent_);
    auto* agent = app_.add_subcommand("agent");
    agent->add_option("--server,-s", server_);
    addConfigFileOption(app_);
  }

  std::vector<std::string> flags(const std::string& yaml, const std::vector<std::string>& given,
                                 const std::string& command = "server") {
    return configFileFlags(YAML::Load(yaml), *app_.get_subcommand(command), given);
  }

  CLI::App app_;
  std::string dataDir_;
  std::vector<std::string> sans_;
  bool disableAgent_ = false;
  std::string server_;
};

TEST_F(ConfigFileTest, KeysBecomeFlagsListsRepeatSwitchesWhenTrue) {
  EXPECT_EQ(flags("data-dir: /srv/kite\ntls-san: [a.example, 10.0.0.1]\ndisable-agent: true\n", {}),
            (std::vector<std::string>{"--data-dir=/srv/kite", "--tls-san=a.example",
                                      "--tls-san=10.0.0.1", "--disable-agent"}));
  EXPECT_TRUE(flags("disable-agent: false\n", {}).empty());
}

TEST_F(ConfigFileTest, CommandLineWinsAndOtherCommandsKeysAreSkipped) {
  EXPECT_TRUE(flags("data-dir: /srv/kite\n", {"--data-dir=/x"}).empty());
  EXPECT_TRUE(flags("data-dir: /srv/kite\n", {"-d", "/x"}).empty());
  EXPECT_EQ(flags("data-dir: /srv/kite\nserver: https://s:6443\n", {}, "agent"),
            (std::vector<std::string>{"--server=https://s:6443"}));
}

TEST_F(ConfigFileTest, BadValuesNameTheKey) {
  try {
    flags("data-dir: {a: b}\n", {});
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("key data-dir"), std::string::npos) << e.what();
  }
  EXPECT_THROW(flags("disable-agent: maybe\n", {}), std::runtime_error);
  EXPECT_THROW(flags("- a\n- b\n", {}), std::runtime_error);
  EXPECT_TRUE(flags("", {}).empty());
}

TEST_F(ConfigFileTest, ArgsWithConfigFileReadsTheNamedFileAndParses) {
  char path[] = "/tmp/kite-config-XXXXXX";
  const int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  {
    std::ofstream out(path);
    out << "data-dir: /srv/kite\ndisable-agent: true\n";
  }
  std::string program = "kite";
  std::string command = "server";
  std::string config = std::string("--config=") + path;
  std::vector<char*> argv{program.data(), command.data(), config.data()};
  auto args = argsWithConfigFile(app_, static_cast<int>(argv.size()), argv.data());
  app_.parse(args);
  EXPECT_EQ(dataDir_, "/srv/kite");
  EXPECT_TRUE(disableAgent_);
  std::remove(path);

  std::string missing = "--config=/nonexistent/kite.yaml";
  std::vector<char*> bad{program.data(), command.data(), missing.data()};
  EXPECT_THROW(argsWithConfigFile(app_, static_cast<int>(bad.size()), bad.data()),
               std::runtime_error);
}

}  // namespace
}  // namespace kite::cmd
