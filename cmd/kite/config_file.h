#pragma once
// /etc/kite/config.yaml, the k3s way: every long flag of `kite server` / `kite agent` as a key
// (`data-dir: /srv/kite`, `tls-san: [a, b]`, `disable-agent: true`). Its keys become flags put
// before the command line's; a flag given on the command line wins over the file.

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

namespace kite::cmd {

// Where the file is read from unless --config or KITE_CONFIG_FILE name another.
inline constexpr const char* kDefaultConfigFile = "/etc/kite/config.yaml";

// Adds --config to the subcommands that read the file (server, agent).
void addConfigFileOption(CLI::App& app);

// The flags a parsed config file gives `command` (a subcommand of kite), left out those the
// command line `given` sets already. Keys `command` does not know are skipped (one file may
// serve the server and the agent); a nested map, or a value a flag cannot take, is an error
// naming the key.
std::vector<std::string> configFileFlags(const YAML::Node& file, const CLI::App& command,
                                         const std::vector<std::string>& given);

// argv (without the program name) with the config file's flags inserted after the subcommand
// when that is `server` or `agent`. The file is `--config PATH`, else $KITE_CONFIG_FILE, else
// kDefaultConfigFile when it exists. Returns the arguments in the reversed order
// CLI::App::parse(std::vector<std::string>&) takes.
std::vector<std::string> argsWithConfigFile(const CLI::App& app, int argc, char** argv);

}  // namespace kite::cmd
