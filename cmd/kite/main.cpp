// kite: a Kubernetes node agent (kubelet + Service proxy) with a compact control plane.

#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <exception>
#include <iostream>

#include "build_info.h"
#include "commands.h"
#include "config_file.h"

int main(int argc, char** argv) {
  CLI::App app{"kite: a lean Kubernetes node agent (kubelet + Service proxy) and control plane",
               "kite"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string(KITE_VERSION) + " (" + KITE_GIT_COMMIT + ")");

  auto* version = app.add_subcommand("version", "Print the version of kite");
  version->callback(
      [] { std::cout << "kite " << KITE_VERSION << " (" << KITE_GIT_COMMIT << ")\n"; });

  kite::cmd::addCriCommand(app);
  kite::cmd::addKubeletCommand(app);
  kite::cmd::addServerCommand(app);
  kite::cmd::addAgentCommand(app);
  kite::cmd::addProxyCommand(app);
  kite::cmd::addBenchCommand(app);
  kite::cmd::addConfigFileOption(app);

  try {
    // /etc/kite/config.yaml's keys become flags before the command line's.
    auto args = kite::cmd::argsWithConfigFile(app, argc, argv);
    app.parse(args);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const kite::cmd::ExitStatus& status) {
    return status.code;
  } catch (const std::exception& e) {
    // Subcommands report failures by throwing; say what failed, never crash.
    std::cerr << "error: " << e.what() << '\n';
    return 1;
  }
  return 0;
}
