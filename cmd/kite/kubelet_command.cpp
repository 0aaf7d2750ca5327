// `kite kubelet`: the kubelet alone. It runs static pods from --pod-manifest-path; with
// --kubeconfig it also registers its Node with the API server, reports the Node's status,
// renews the node Lease and runs the pods bound to the node (kubelet_runner.h).

#include <httplib.h>
#include <spdlog/spdlog.h>

#include <csignal>
#include <iostream>
#include <memory>

#include "commands.h"
#include "kubelet_runner.h"
#include "stop_signals.h"

namespace kite::cmd {

namespace {

void runKubelet(const KubeletFlags& flags) {
  // Before any thread starts, so only stopSignals.wait() sees them.
  const StopSignals stopSignals;

  RunningKubelet kubelet(flags);
  const int signal = stopSignals.wait();
  spdlog::info("signal {}: stopping the kubelet; pods keep running", signal);
  kubelet.stop();
}

void printStatus(const std::string& address, int port) {
  httplib::Client client(address, port);
  client.set_connection_timeout(2, 0);
  client.set_read_timeout(5, 0);
  const auto response = client.Get("/pods");
  if (!response || response->status != 200) {
    throw std::runtime_error("no kubelet answers on http://" + address + ":" +
                             std::to_string(port) + "/pods");
  }
  std::cout << response->body << "\n";
}

}  // namespace

void addKubeletCommand(CLI::App& root) {
  auto flags = std::make_shared<KubeletFlags>();
  auto* cmd = root.add_subcommand("kubelet", "Run only the kubelet half of the agent");
  addKubeletFlags(*cmd, *flags);
  auto* status = cmd->add_subcommand("status", "Print the pods of a running kubelet as JSON");
  cmd->callback([flags, cmd, status] {
    if (cmd->got_subcommand(status)) return;
    runKubelet(*flags);
  });
  status->callback([flags] { printStatus(flags->healthzBindAddress, flags->healthzPort); });
}

}  // namespace kite::cmd
