// `kite server`: the control plane (API server on SQLite or etcd) with k3s's flag names.

#include <malloc.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <iostream>
#include <memory>
#include <stdexcept>
#include <stop_token>
#include <thread>
#include <vector>

#include "agent_runner.h"
#include "commands.h"
#include "kite/client/client.h"
#include "kite/controlplane/server.h"
#include "kite/dns/kube_dns_service.h"
#include "kite/kubelet/node_info.h"
#include "kite/pki/files.h"
#include "stop_signals.h"
#include "systemd_notify.h"

namespace kite::cmd {

namespace {

struct ServerFlags {
  controlplane::ServerConfig config;
  std::string writeKubeconfig;
  std::string kubeconfigMode = "0600";
  std::string nodePortRange = "30000-32767";
  std::string nodeMonitorGracePeriod = "40s";
  bool disableAgent = false;
  std::vector<std::string> disable;  // --disable: packaged parts not to run, as k3s's
  std::string logLevel = "info";
  AgentFlags agent;  // the agent in this process, unless --disable-agent
};

// The server's own node carries the control-plane role labels. A kubelet may not set
// node-role labels on itself (NodeRestriction), so the server adds them, as k3s does.
void labelServerNode(const std::filesystem::path& kubeconfig, const std::string& node,
                     const std::stop_token& stop) {
  client::Client api(client::loadKubeconfig(kubeconfig.string()));
  const std::string patch =
      R"({"metadata":{"labels":{"node-role.kubernetes.io/control-plane":"true",)"
      R"("node-role.kubernetes.io/master":"true"}}})";
  while (!stop.stop_requested()) {
    try {
      api.call("PATCH", "/api/v1/nodes/" + client::urlEncode(node), patch,
               "application/merge-patch+json");
      spdlog::info("node {}: control-plane role labels set", node);
      return;
    } catch (const std::exception&) {
      std::this_thread::sleep_for(std::chrono::seconds(1));  // not registered yet
    }
  }
}

void runServer(ServerFlags& flags) {
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
  config.nodeMonitorGracePeriod =
      parseDuration("--node-monitor-grace-period", flags.nodeMonitorGracePeriod);

  // glibc gives every thread that allocates a large body (a list of 10k pods is ~10 MB) a
  // malloc arena of its own and keeps the freed memory there: two arenas, and large blocks
  // straight from mmap, keep the server's RSS to what it holds (bench/apiserver).
  mallopt(M_ARENA_MAX, 2);
  mallopt(M_MMAP_THRESHOLD, 1024 * 1024);

  // Before any thread starts, so only stopSignals.wait() sees them.
  const StopSignals stopSignals;
  std::signal(SIGPIPE, SIG_IGN);

  if (!flags.agent.kubelet.nodeIP.empty()) {
    config.nodeIps = {flags.agent.kubelet.nodeIP};
  } else if (const auto address = kubelet::defaultNodeIP(); !address.empty()) {
    // Agents join at the machine's address (K3S_URL=https://<server>:6443), as with k3s: the
    // serving certificate names it without --tls-san.
    config.tlsSans.push_back(address);
  }
  // Pods' DNS server: the kube-dns Service at --cluster-dns, by default the 10th address of
  // the service range (k3s's 10.43.0.10), leading to the DNS server every agent runs.
  auto& clusterDns = flags.agent.kubelet.clusterDns;
  const bool kubeDnsDisabled =
      std::find(flags.disable.begin(), flags.disable.end(), "coredns") != flags.disable.end();
  if (clusterDns.empty()) {
    try {
      clusterDns = {dns::clusterDnsIP(config.serviceCidr)};
    } catch (const std::invalid_argument& e) {
      // An IPv6 or too small range: no kube-dns Service; --cluster-dns must name one.
      spdlog::warn("no kube-dns Service (give --cluster-dns): {}", e.what());
    }
  }
  auto server = controlplane::startServer(config);
  client::Client kubeDnsClient(client::loadKubeconfig(server->kubeconfigPath().string()));
  std::unique_ptr<dns::KubeDnsService> kubeDns;
  if (!clusterDns.empty() && !kubeDnsDisabled) {
    kubeDns = std::make_unique<dns::KubeDnsService>(
        kubeDnsClient, dns::KubeDnsServiceOptions{.clusterIP = clusterDns.front()});
    kubeDns->start();
  }
  std::unique_ptr<RunningAgent> agent;
  std::jthread labeler;
  if (!flags.disableAgent) {
    auto& a = flags.agent;
    a.dataDir = config.dataDir.string();
    a.clusterCidr = config.clusterCidr;
    a.server = "https://127.0.0.1:" + std::to_string(server->port());
    a.token = pki::readFile(config.dataDir / "server" / "token");
    while (!a.token.empty() && (a.token.back() == '\n' || a.token.back() == ' ')) {
      a.token.pop_back();
    }
    resolveAgentFlags(a);
    agent = std::make_unique<RunningAgent>(a);
    labeler =
        std::jthread([kubeconfig = server->kubeconfigPath(), node = a.kubelet.nodeName](
                         const std::stop_token& stop) { labelServerNode(kubeconfig, node, stop); });
  }
  std::cout << "kite server is running on port " << server->port() << "\n"
            << "export KUBECONFIG=" << server->kubeconfigPath().string() << std::endl;
  notifySystemdReady();  // API server (and agent) up: kite-server.service is started
  const int signal = stopSignals.wait();
  spdlog::info("signal {}: stopping the server", signal);
  if (labeler.joinable()) {
    labeler.request_stop();
    labeler.join();
  }
  if (agent) agent->stop();
  if (kubeDns) kubeDns->stop();
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
  cmd->add_option("--node-monitor-grace-period", flags->nodeMonitorGracePeriod,
                  "How long a node's Lease may go unrenewed before the node is Unknown")
      ->capture_default_str();
  cmd->add_option("--default-not-ready-toleration-seconds", c.defaultNotReadyTolerationSeconds,
                  "tolerationSeconds of the not-ready NoExecute toleration added to every pod")
      ->check(CLI::Range(0, 86400))
      ->capture_default_str();
  cmd->add_option("--default-unreachable-toleration-seconds", c.defaultUnreachableTolerationSeconds,
                  "tolerationSeconds of the unreachable NoExecute toleration added to every pod")
      ->check(CLI::Range(0, 86400))
      ->capture_default_str();
  cmd->add_flag("--disable-controller-manager", c.disableControllerManager,
                "Run without the controllers");
  cmd->add_option("--disable", flags->disable,
                  "Packaged parts not to run, as k3s's --disable (kite has: coredns, the "
                  "kube-dns Service pods resolve names through)")
      ->delimiter(',')
      ->check(CLI::IsMember({"coredns"}));
  cmd->add_option("--log-level", flags->logLevel, "trace, debug, info, warn, error")
      ->capture_default_str();
  // Every agent flag too, for the agent in this process (k3s's server takes them as well);
  // --node-ip also goes into the serving certificate.
  addAgentFlags(*cmd, flags->agent, true);
  cmd->callback([flags] { runServer(*flags); });
}

}  // namespace kite::cmd
