#include "config_file.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>

namespace kite::cmd {

namespace {

const char* const kReadingCommands[] = {"server", "agent"};

bool readsConfigFile(const std::string& name) {
  return std::ranges::find(kReadingCommands, name) != std::end(kReadingCommands);
}

// True when `args` sets the option (as --name, --name=value, -n or -nvalue).
bool givenOnCommandLine(const CLI::Option& option, const std::vector<std::string>& args) {
  return std::ranges::any_of(args, [&option](const std::string& arg) {
    for (const auto& name : option.get_lnames()) {
      if (arg == "--" + name || arg.starts_with("--" + name + "=")) return true;
    }
    for (const auto& name : option.get_snames()) {
      if (arg.starts_with("-" + name) && !arg.starts_with("--")) return true;
    }
    return false;
  });
}

std::string scalarOf(const std::string& key, const YAML::Node& value) {
  if (!value.IsScalar()) {
    throw std::runtime_error("config file: key " + key + ": expected a value or a list of values");
  }
  return value.Scalar();
}

void appendFlag(const std::string& key, const CLI::Option& option, const YAML::Node& value,
                std::vector<std::string>& flags) {
  const bool isSwitch = option.get_expected_max() == 0;
  if (isSwitch) {
    const auto text = scalarOf(key, value);
    if (text == "true") {
      flags.push_back("--" + key);
    } else if (text != "false") {
      throw std::runtime_error("config file: key " + key + ": expected true or false, got " + text);
    }
    return;
  }
  if (value.IsSequence()) {
    for (const auto& item : value) flags.push_back("--" + key + "=" + scalarOf(key, item));
    return;
  }
  flags.push_back("--" + key + "=" + scalarOf(key, value));
}

std::string configFilePath(const std::vector<std::string>& args, bool& required) {
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--config" && i + 1 < args.size()) {
      required = true;
      return args[i + 1];
    }
    if (args[i].starts_with("--config=")) {
      required = true;
      return args[i].substr(std::string("--config=").size());
    }
  }
  if (const char* env = std::getenv("KITE_CONFIG_FILE"); env != nullptr && *env != '\0') {
    required = true;
    return env;
  }
  required = false;
  return kDefaultConfigFile;
}

}  // namespace

void addConfigFileOption(CLI::App& app) {
  for (const char* name : kReadingCommands) {
    auto* command = app.get_subcommand(name);
    // Read before parsing by argsWithConfigFile; registered so --help lists it.
    command->add_option("--config", "Config file, every flag as a key (or KITE_CONFIG_FILE)")
        ->default_str(kDefaultConfigFile);
  }
}

std::vector<std::string> configFileFlags(const YAML::Node& file, const CLI::App& command,
                                         const std::vector<std::string>& given) {
  std::vector<std::string> flags;
  if (file.IsNull()) return flags;
  if (!file.IsMap()) throw std::runtime_error("config file: expected a map of flag: value");
  for (const auto& entry : file) {
    const auto key = entry.first.as<std::string>();
    if (key == "config") throw std::runtime_error("config file: key config is not allowed");
    const CLI::Option* option = nullptr;
    for (const auto* candidate : command.get_options()) {
      if (candidate->check_lname(key)) option = candidate;
    }
    if (option == nullptr || givenOnCommandLine(*option, given)) continue;
    appendFlag(key, *option, entry.second, flags);
  }
  return flags;
}

std::vector<std::string> argsWithConfigFile(const CLI::App& app, int argc, char** argv) {
  std::vector<std::string> args(argv + std::min(argc, 1), argv + argc);
  if (!args.empty() && readsConfigFile(args.front())) {
    const std::vector<std::string> given(args.begin() + 1, args.end());
    bool required = false;
    const auto path = configFilePath(given, required);
    if (required || std::filesystem::exists(path)) {
      YAML::Node file;
      try {
        file = YAML::LoadFile(path);
      } catch (const YAML::Exception& e) {
        throw std::runtime_error("config file " + path + ": " + e.what());
      }
      try {
        auto flags = configFileFlags(file, *app.get_subcommand(args.front()), given);
        args.insert(args.begin() + 1, flags.begin(), flags.end());
      } catch (const std::runtime_error& e) {
        throw std::runtime_error(path + ": " + e.what());
      }
    }
  }
  std::ranges::reverse(args);
  return args;
}

}  // namespace kite::cmd
