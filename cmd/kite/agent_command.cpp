// `kite agent`: a node joined to a kite server (k3s's `k3s agent`): the kubelet, with the
// Service proxy to come, on credentials the agent gets from the server with the join token.

#include <spdlog/spdlog.h>

#include <csignal>
#include <memory>

#include "agent_runner.h"
#include "commands.h"
#include "stop_signals.h"
#include "systemd_notify.h"

namespace kite::cmd {

void addAgentCommand(CLI::App& root) {
  auto flags = std::make_shared<AgentFlags>();
  auto* cmd = root.add_subcommand(
      "agent", "Run the node agent (kubelet; Service proxy to come) joined to a kite server");
  addAgentFlags(*cmd, *flags, false);
  cmd->callback([flags] {
    resolveAgentFlags(*flags);
    // Before any thread starts, so only stopSignals.wait() sees them.
    const StopSignals stopSignals;
    std::signal(SIGPIPE, SIG_IGN);
    RunningAgent agent(*flags);
    notifySystemdReady();  // joined and the kubelet runs: kite-agent.service is up
    const int signal = stopSignals.wait();
    spdlog::info("signal {}: stopping the agent; pods keep running", signal);
    agent.stop();
  });
}

}  // namespace kite::cmd
