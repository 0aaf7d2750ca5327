// `kite server`: the control plane (API server on SQLite or etcd) with k3s's flag names.

#include <malloc.h>
#include <spdlog/spdlog.h>

#include <csignal>
#include <iostream>

#include "commands.h"
#include "kite/controlplane/server.h"

namespace kite::cmd {

namespace {

struct ServerFlags {
  controlplane::ServerConfig config;
  std::string writeKubeconfig;
  std::string kubeconfigMode = "0600";
  std::string nodePortRange = "30000-32767";
  bool disableAgent = false;
  std::string logLevel = "info";
};

void runServer(const ServerFlags& flags) {
  if (!flags.disableAgent) {
    throw std::runtime_error(
        "the agent inside `kite server` arrives with the agent issue; run with --disable-agent "
        "for the control plane alone");
  }
  spdlog::set_level(spdlog::level::from_str(flags.logLevel));
  controlplane::ServerConfig config = flags.config;
  config.writeKubeconfig = flags.writeKubeconfig;
  try {
    config.kubeconfigMode = static_cast<unsigned>(std::stoul(flags.kubeconfigMode, nullptr, 8));
  } catch (const std::exception&) {
    throw std::invalid_argument("--write-kubeconfig-mode: not an octal mode: " +
                                flags.kubeconfigMode);
  }
  std::tie(config.nodePortMin, config.nodePortMax) =
      controlplane::parsePortRange(flags.nodePortRange);

  // glibc gives every thread that allocates a large body (a list of 10k pods is ~10 MB) a
  // malloc arena of its own and keeps the freed memory there: two arenas, and large blocks
  // straight from mmap, keep the server's RSS to what it holds (bench/apiserver).
  mallopt(M_ARENA_MAX, 2);
  mallopt(M_MMAP_THRESHOLD, 1024 * 1024);

  // Block the stop signals before any thread starts, so only sigwait sees them.
  sigset_t stopSignals;
  sigemptyset(&stopSignals);
  sigaddset(&stopSignals, SIGINT);
  sigaddset(&stopSignals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stopSignals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  auto server = controlplane::startServer(config);
  std::cout << "kite server is running on port " << server->port() << "\n"
            << "export KUBECONFIG=" << server->kubeconfigPath().string() << std::endl;
  int signal = 0;
  sigwait(&stopSignals, &signal);
  spdlog::info("signal {}: stopping the server", signal);
  server->stop();
}

}  // namespace

void addServerCommand(CLI::App& root) {
  auto flags = std::make_shared<ServerFlags>();
  auto& c = flags->config;
  auto* cmd = root.add_subcommand(
      "server", "Run the control plane: the Kubernetes API server on SQLite or etcd");
  cmd->add_option("--data-dir,-d", c.dataDir, "Folder for state (PKI, database)")
      ->capture_default_str();
  cmd->add_option("--bind-address", c.bindAddress, "Address the API server listens on")
      ->capture_default_str();
  cmd->add_option("--https-listen-port", c.httpsPort, "HTTPS port of the API server")
      ->capture_default_str();
  cmd->add_option("--write-kubeconfig,-o", flags->writeKubeconfig,
                  "Write the admin kubeconfig to this file as well");
  cmd->add_option("--write-kubeconfig-mode", flags->kubeconfigMode,
                  "Mode of the written kubeconfig (octal)")
      ->capture_default_str();
  cmd->add_option("--tls-san", c.tlsSans,
                  "Extra host names or IPs in the serving certificate (repeatable)");
  cmd->add_option("--node-ip", c.nodeIps, "This node's IP address(es)");
  cmd->add_option("--service-cidr", c.serviceCidr, "IPv4 range of Service ClusterIPs")
      ->capture_default_str();
  cmd->add_option("--cluster-cidr", c.clusterCidr, "IPv4 range of pod IPs")->capture_default_str();
  cmd->add_option("--service-node-port-range", flags->nodePortRange, "NodePort range")
      ->capture_default_str();
  cmd->add_option("--datastore-endpoint", c.datastoreEndpoint,
                  "etcd client URLs (comma-separated); empty: embedded SQLite");
  cmd->add_option("--token,-t", c.token, "Shared secret agents join with (empty: generated)");
  cmd->add_flag("--disable-agent", flags->disableAgent, "Run the control plane without an agent");
  cmd->add_flag("--disable-scheduler", c.disableScheduler, "Run without the scheduler");
  cmd->add_flag("--disable-controller-manager", c.disableControllerManager,
                "Run without the controllers");
  cmd->add_option("--log-level", flags->logLevel, "trace, debug, info, warn, error")
      ->capture_default_str();
  cmd->callback([flags] { runServer(*flags); });
}

}  // namespace kite::cmd
