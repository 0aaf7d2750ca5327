// `kite proxy`: the Service proxy alone (kube-proxy's flags), against any API server.

#include <spdlog/spdlog.h>

#include <csignal>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "commands.h"
#include "kite/client/client.h"
#include "kite/client/config.h"
#include "kite/proxy/ebpf_dataplane.h"
#include "kite/proxy/network_policy_controller.h"
#include "kite/proxy/proxy.h"
#include "kite/proxy/userspace_dataplane.h"
#include "stop_signals.h"

namespace kite::cmd {

namespace {

struct ProxyFlags {
  std::string kubeconfig;
  std::string hostnameOverride;
  std::string proxyMode = "nftables";
  std::string ebpfLbAlgorithm = "random";
  std::string clusterCidr;
  std::vector<std::string> nodeportAddresses;
  std::string syncPeriod = "30s";
  std::string minSyncPeriod = "1s";
  std::string healthzBindAddress = "0.0.0.0:10256";
  std::string metricsBindAddress = "127.0.0.1:10249";
  std::string flannelBackend = "none";
  bool cleanup = false;
};

// A Go duration of one unit, as kube-proxy's flags take them: "500ms", "1s", "2m", "1h".
std::chrono::milliseconds parseDuration(const std::string& flag, const std::string& value) {
  std::size_t end = 0;
  double number = 0;
  try {
    number = std::stod(value, &end);
  } catch (const std::exception&) {
    end = 0;
  }
  const std::string unit = value.substr(end);
  double ms = -1;
  if (end > 0 && number >= 0) {
    if (unit == "ms") ms = number;
    if (unit == "s") ms = number * 1000;
    if (unit == "m") ms = number * 60'000;
    if (unit == "h") ms = number * 3'600'000;
  }
  if (ms < 0) {
    throw std::invalid_argument(flag + ": invalid duration \"" + value +
                                "\" (e.g. 500ms, 30s, 1m)");
  }
  return std::chrono::milliseconds(static_cast<std::int64_t>(ms));
}

void runProxy(const ProxyFlags& flags) {
  proxy::ProxyOptions options{
      .hostname = flags.hostnameOverride,
      .proxyMode = flags.proxyMode,
      .clusterCidr = flags.clusterCidr,
      .syncPeriod = parseDuration("--sync-period", flags.syncPeriod),
      .minSyncPeriod = parseDuration("--min-sync-period", flags.minSyncPeriod),
      .hostGatewayRoutes = flags.flannelBackend == "host-gw",
      .nodePortAddresses = flags.nodeportAddresses,
      .healthzBindAddress = flags.healthzBindAddress,
      .metricsBindAddress = flags.metricsBindAddress};
  options.ebpfLbAlgorithm = flags.ebpfLbAlgorithm;
  if (flags.cleanup) {
    // Every mode's leftovers, whichever ran before (as kube-proxy's --cleanup), and the
    // NetworkPolicy table an agent on this node kept.
    options.proxyMode = "nftables";
    proxy::makeDataplane(options)->cleanup();
    proxy::EbpfDataplane::removePinned();
    proxy::UserspaceDataplane::removeLink();
    proxy::NetworkPolicyController::cleanup();
    spdlog::info(
        "removed tables inet kite-proxy and inet kite-netpol, the pinned eBPF programs and "
        "link kite-svc0");
    return;
  }
  if (flags.kubeconfig.empty()) throw std::runtime_error("--kubeconfig is required");
  if (flags.hostnameOverride.empty()) throw std::runtime_error("--hostname-override is required");
  auto dataplane = proxy::makeDataplane(options);  // an unknown --proxy-mode fails here

  // Before any thread starts, so only stopSignals.wait() sees them.
  const StopSignals stopSignals;

  client::Client client(client::loadKubeconfig(flags.kubeconfig));
  proxy::Proxy proxy(client, options, std::move(dataplane));
  proxy.start();
  spdlog::info("proxy for node {} running ({} mode)", flags.hostnameOverride, flags.proxyMode);
  const int signal = stopSignals.wait();
  spdlog::info("signal {}: stopping the proxy; its rules stay", signal);
  proxy.stop();
}

}  // namespace

void addProxyCommand(CLI::App& root) {
  auto flags = std::make_shared<ProxyFlags>();
  auto* cmd = root.add_subcommand("proxy", "Run only the Service proxy half of the agent");
  cmd->add_option("--kubeconfig", flags->kubeconfig, "kubeconfig of the API server");
  cmd->add_option("--hostname-override", flags->hostnameOverride, "Name of this node");
  cmd->add_option("--proxy-mode", flags->proxyMode,
                  "Dataplane: nftables (userspace when nftables is not usable), ebpf "
                  "(socket-level ClusterIPs), or userspace (kite relays the connections)")
      ->capture_default_str();
  cmd->add_option("--ebpf-lb-algorithm", flags->ebpfLbAlgorithm,
                  "ebpf mode's backend choice: random per connect, or maglev (consistent "
                  "hashing: a client keeps its backend while others change)")
      ->check(CLI::IsMember({"random", "maglev"}))
      ->capture_default_str();
  cmd->add_option("--cluster-cidr", flags->clusterCidr,
                  "Pod IP range (IPv4,IPv6 for dual-stack); Service traffic from outside it is "
                  "masqueraded");
  cmd->add_option("--nodeport-addresses", flags->nodeportAddresses,
                  "CIDRs of the local addresses NodePorts answer on (default: all, 127.0.0.1 "
                  "included)")
      ->delimiter(',');
  cmd->add_option("--healthz-bind-address", flags->healthzBindAddress,
                  "HOST:PORT of /healthz (empty: off)")
      ->capture_default_str();
  cmd->add_option("--metrics-bind-address", flags->metricsBindAddress,
                  "HOST:PORT of /metrics (empty: off)")
      ->capture_default_str();
  cmd->add_option("--flannel-backend", flags->flannelBackend,
                  "host-gw: route other nodes' pod CIDRs via their InternalIPs; none: leave "
                  "routes to the network plugin")
      ->check(CLI::IsMember({"none", "host-gw"}))
      ->capture_default_str();
  cmd->add_option("--sync-period", flags->syncPeriod, "Full resync at least this often")
      ->capture_default_str();
  cmd->add_option("--min-sync-period", flags->minSyncPeriod, "Syncs at most this often")
      ->capture_default_str();
  cmd->add_flag("--cleanup", flags->cleanup,
                "Remove every rule and program kite's proxy and NetworkPolicy left, and exit");
  cmd->callback([flags] { runProxy(*flags); });
}

}  // namespace kite::cmd
