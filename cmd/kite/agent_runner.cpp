#include "agent_runner.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>

#include "kite/client/node_bootstrap.h"
#include "kite/dns/forwarder.h"
#include "kite/kubelet/node_info.h"
#include "kite/pki/files.h"
#include "kite/proxy/bridge_netfilter.h"
#include "kite/proxy/packet_filter_probe.h"

namespace kite::cmd {

namespace {

// The kube-dns Service of the default --service-cidr 10.43.0.0/16 (dns::clusterDnsIP), which
// `kite server` creates; k3s agents default to the same address.
constexpr const char* kDefaultClusterDns = "10.43.0.10";

std::string fromEnv(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr ? std::string(value) : std::string();
}

// KITE_<name>, else K3S_<name>: a k3s agent's environment (its join recipe) carries over.
std::string fromKiteOrK3sEnv(const std::string& name) {
  auto value = fromEnv(("KITE_" + name).c_str());
  return value.empty() ? fromEnv(("K3S_" + name).c_str()) : value;
}

std::string trimmed(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) {
    text.pop_back();
  }
  return text;
}

client::NodeBootstrapOptions joinOptions(const AgentFlags& flags) {
  client::NodeBootstrapOptions join;
  join.server = flags.server;
  join.token = flags.token;
  join.nodeName = flags.kubelet.nodeName;
  if (!flags.kubelet.nodeIP.empty()) join.nodeIps = {flags.kubelet.nodeIP};
  join.dir = std::filesystem::path(flags.dataDir) / "agent";
  return join;
}

}  // namespace

void addAgentFlags(CLI::App& cmd, AgentFlags& flags, bool forServer) {
  if (!forServer) {
    cmd.add_option("--server,-s", flags.server,
                   "URL of the kite server to join, https://HOST:6443 (or KITE_URL)");
    cmd.add_option("--token,-t", flags.token,
                   "Join token from the server's <data-dir>/server/token (or KITE_TOKEN)");
    cmd.add_option("--token-file", flags.tokenFile,
                   "File holding the join token (or KITE_TOKEN_FILE)");
    cmd.add_option("--data-dir,-d", flags.dataDir, "Folder for the agent's state (certificates)")
        ->capture_default_str();
  }
  cmd.add_option("--proxy-mode", flags.proxyMode,
                 "Service proxy dataplane: nftables (userspace when nftables is not usable), "
                 "ebpf (socket-level ClusterIPs), or userspace (kite relays the connections)")
      ->check(CLI::IsMember({"nftables", "ebpf", "userspace"}))
      ->capture_default_str();
  cmd.add_option("--ebpf-lb-algorithm", flags.ebpfLbAlgorithm,
                 "ebpf mode's backend choice: random per connect, or maglev (consistent "
                 "hashing: a client keeps its backend while others change)")
      ->check(CLI::IsMember({"random", "maglev"}))
      ->capture_default_str();
  // k3s's name, and the shorter one kite's issue and users of other agents use.
  cmd.add_flag("--disable-kube-proxy,--disable-proxy", flags.disableProxy,
               "Run no Service proxy (the network plugin forwards Services)");
  cmd.add_flag("--disable-network-policy", flags.disableNetworkPolicy,
               "Enforce no NetworkPolicy (the network plugin does)");
  cmd.add_option("--flannel-backend", flags.flannelBackend,
                 "host-gw: the proxy routes other nodes' pod CIDRs via their InternalIPs; none: "
                 "the network plugin does")
      ->check(CLI::IsMember({"none", "host-gw"}))
      ->capture_default_str();
  cmd.add_option("--nodeport-addresses", flags.nodeportAddresses,
                 "CIDRs of the local addresses NodePorts answer on (default: all)")
      ->delimiter(',');
  // kube-proxy's --healthz-bind-address and --metrics-bind-address (the kubelet has its own
  // --healthz-bind-address).
  cmd.add_option("--proxy-healthz-bind-address", flags.proxyHealthzBindAddress,
                 "HOST:PORT of the proxy's /healthz (empty: off)")
      ->capture_default_str();
  cmd.add_option("--proxy-metrics-bind-address", flags.proxyMetricsBindAddress,
                 "HOST:PORT of the proxy's /metrics (empty: off)")
      ->capture_default_str();
  if (!forServer) {
    cmd.add_option("--cluster-cidr", flags.clusterCidr,
                   "Pod IP range (IPv4,IPv6 for dual-stack): the proxy masquerades Service "
                   "traffic from outside it")
        ->capture_default_str();
  }
  addKubeletFlags(cmd, flags.kubelet);
}

void resolveAgentFlags(AgentFlags& flags) {
  if (flags.server.empty()) flags.server = fromKiteOrK3sEnv("URL");
  if (flags.token.empty()) flags.token = fromKiteOrK3sEnv("TOKEN");
  if (flags.tokenFile.empty()) flags.tokenFile = fromKiteOrK3sEnv("TOKEN_FILE");
  if (flags.token.empty() && !flags.tokenFile.empty()) {
    flags.token = trimmed(pki::readFile(flags.tokenFile));
  }
  if (flags.kubelet.nodeName.empty()) flags.kubelet.nodeName = fromKiteOrK3sEnv("NODE_NAME");
  if (flags.kubelet.nodeName.empty()) flags.kubelet.nodeName = kubelet::defaultHostname();
  if (flags.kubelet.nodeIP.empty()) flags.kubelet.nodeIP = kubelet::defaultNodeIP();
  if (flags.kubelet.clusterDns.empty()) flags.kubelet.clusterDns = {kDefaultClusterDns};
  if (flags.kubelet.resolvConf == "/etc/resolv.conf") {
    flags.kubelet.resolvConf = dns::upstreamResolvConf(flags.kubelet.resolvConf);
  }
  if (flags.server.empty()) throw std::runtime_error("--server (or KITE_URL) is required");
  if (flags.token.empty()) {
    throw std::runtime_error("--token, --token-file, KITE_TOKEN or KITE_TOKEN_FILE is required");
  }
}

RunningAgent::RunningAgent(AgentFlags flags)
    : flags_(std::move(flags)),
      dirLock_(std::make_unique<DirLock>(
          joinOptions(flags_).dir, "kite agent (kite server runs one unless --disable-agent)")) {
  startParts();
  rotation_ = std::thread([this] { rotateLoop(); });
}

RunningAgent::~RunningAgent() { stop(); }

void RunningAgent::startParts() {
  const auto join = joinOptions(flags_);
  const auto credentials = client::bootstrapNode(join);
  spdlog::info("agent: node {} joined {} (credentials in {})", join.nodeName, join.server,
               join.dir.string());
  KubeletFlags kubeletFlags = flags_.kubelet;
  kubeletFlags.kubeconfig = credentials.kubeconfig.string();
  // The kubelet port serves with the certificate the server signed (the API server checks it
  // against the server CA) and accepts client certificates of the client CA (the API server's
  // own kubelet-client certificate), unless flags chose others.
  auto& tls = kubeletFlags.server;
  if (tls.tlsCertFile.empty() && tls.tlsPrivateKeyFile.empty()) {
    tls.tlsCertFile = credentials.servingCert.string();
    tls.tlsPrivateKeyFile = credentials.servingKey.string();
  }
  if (tls.clientCaFile.empty()) tls.clientCaFile = credentials.clientCa.string();
  // Before any pod starts: pods on this node share a bridge, and their traffic to each other
  // must reach the netfilter hooks (NetworkPolicy, Service reverse NAT), as k3s's agent sets up.
  if (const auto missing = proxy::enableBridgeNetfilter(); !missing.empty()) {
    spdlog::warn("agent: {}", missing);
  }
  kubelet_ = std::make_unique<RunningKubelet>(kubeletFlags);
  if (!flags_.disableProxy) {
    proxyClient_ = std::make_unique<client::Client>(client::loadKubeconfig(credentials.kubeconfig));
    proxy::ProxyOptions options;
    options.hostname = flags_.kubelet.nodeName;
    options.proxyMode = flags_.proxyMode;
    options.clusterCidr = flags_.clusterCidr;
    options.hostGatewayRoutes = flags_.flannelBackend == "host-gw";
    options.nodePortAddresses = flags_.nodeportAddresses;
    options.healthzBindAddress = flags_.proxyHealthzBindAddress;
    options.metricsBindAddress = flags_.proxyMetricsBindAddress;
    options.ebpfLbAlgorithm = flags_.ebpfLbAlgorithm;
    proxy_ = std::make_unique<proxy::Proxy>(*proxyClient_, options);
    proxy_->start();
  }
  const bool nftablesUsable = flags_.disableNetworkPolicy || proxy::probeNftables().usable;
  if (!nftablesUsable) {
    spdlog::warn("nftables is not usable here: NetworkPolicy is not enforced on this node");
  }
  if (!flags_.disableNetworkPolicy && nftablesUsable) {
    // This node's pods, in its own table (inet kite-netpol), whatever the proxy mode.
    policyClient_ =
        std::make_unique<client::Client>(client::loadKubeconfig(credentials.kubeconfig));
    proxy::NetworkPolicyControllerOptions policyOptions;
    policyOptions.nodeName = flags_.kubelet.nodeName;
    networkPolicy_ =
        std::make_unique<proxy::NetworkPolicyController>(*policyClient_, policyOptions);
    networkPolicy_->start();
  }
  startDns(credentials.kubeconfig.string());
}

void RunningAgent::startDns(const std::string& kubeconfig) {
  dnsClient_ = std::make_unique<client::Client>(client::loadKubeconfig(kubeconfig));
  const std::string& nodeIP = flags_.kubelet.nodeIP;
  dns::DnsServerOptions options;
  options.bindAddress = nodeIP.substr(0, nodeIP.find(','));  // dual stack: the first
  options.port = 53;
  options.clusterDomain = flags_.kubelet.clusterDomain;
  options.resolvConf = flags_.kubelet.resolvConf;
  try {
    dns_ = std::make_unique<dns::DnsServer>(*dnsClient_, options);
    dns_->start();
    spdlog::info("agent: cluster DNS ({}) on {} port 53, upstreams from {}", options.clusterDomain,
                 options.bindAddress, options.resolvConf);
  } catch (const std::exception& e) {
    spdlog::error("agent: cluster DNS not served on this node: {}", e.what());
    dns_.reset();
    dnsClient_.reset();
  }
}

void RunningAgent::stopParts() {
  if (dns_) dns_->stop();
  dns_.reset();
  dnsClient_.reset();
  if (networkPolicy_) networkPolicy_->stop();
  networkPolicy_.reset();
  policyClient_.reset();
  if (proxy_) proxy_->stop();
  proxy_.reset();
  proxyClient_.reset();
  if (kubelet_) kubelet_->stop();
  kubelet_.reset();
}

void RunningAgent::rotateLoop() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    wake_.wait_for(lock, std::chrono::hours(1), [this] { return stopping_; });
    if (stopping_) break;
    lock.unlock();
    bool renewed = false;
    try {
      const auto credentials = client::bootstrapNode(joinOptions(flags_));
      renewed = credentials.clientRenewed || credentials.servingRenewed;
    } catch (const std::exception& e) {
      spdlog::warn("agent: certificate renewal failed (will retry): {}", e.what());
    }
    lock.lock();
    if (stopping_ || (!renewed && kubelet_)) continue;
    spdlog::info("agent: restarting the kubelet and the proxy on renewed certificates");
    try {
      stopParts();
      startParts();
    } catch (const std::exception& e) {
      spdlog::error("agent: the kubelet did not restart (will retry): {}", e.what());
    }
  }
}

void RunningAgent::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ && !rotation_.joinable()) return;
    stopping_ = true;
  }
  wake_.notify_all();
  if (rotation_.joinable()) rotation_.join();
  stopParts();
}

}  // namespace kite::cmd
