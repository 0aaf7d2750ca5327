#pragma once
// The agent: a node joined to a kite server with nothing but its URL and the join token.
// `kite agent` runs it alone; `kite server` runs one in the same process (unless
// --disable-agent), as k3s's server does.
//
// Joining (kite/client/node_bootstrap.h): the server's CA is checked against the token's
// hash, the node gets its client and serving certificates under <data-dir>/agent, and the
// kubelet runs with them. The certificates are checked every hour and renewed 30 days before
// they expire; the kubelet then restarts on the new ones (pods keep running).

#include <CLI/CLI.hpp>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "dir_lock.h"
#include "kite/client/client.h"
#include "kite/dns/dns_server.h"
#include "kite/proxy/network_policy_controller.h"
#include "kite/proxy/proxy.h"
#include "kubelet_runner.h"

namespace kite::cmd {

struct AgentFlags {
  std::string server;     // --server, KITE_URL
  std::string token;      // --token, KITE_TOKEN
  std::string tokenFile;  // --token-file, KITE_TOKEN_FILE
  std::string dataDir = "/var/lib/kite";
  std::string proxyMode = "nftables";
  std::string ebpfLbAlgorithm = "random";      // --ebpf-lb-algorithm
  bool disableProxy = false;                   // --disable-kube-proxy, as k3s
  bool disableNetworkPolicy = false;           // --disable-network-policy, as k3s
  std::string clusterCidr = "10.42.0.0/16";    // the proxy masquerades traffic from outside it
  std::string flannelBackend = "none";         // host-gw: the proxy routes other nodes' pod CIDRs
  std::vector<std::string> nodeportAddresses;  // --nodeport-addresses (empty: all)
  std::string proxyHealthzBindAddress = "0.0.0.0:10256";    // --proxy-healthz-bind-address
  std::string proxyMetricsBindAddress = "127.0.0.1:10249";  // --proxy-metrics-bind-address
  KubeletFlags kubelet;
};

// The agent's own flags and every kubelet flag. forServer: `kite server` registers
// --data-dir, --token and the URL itself, so only the rest is added.
void addAgentFlags(CLI::App& cmd, AgentFlags& flags, bool forServer);

// Fills what flags leave open from KITE_URL, KITE_TOKEN, KITE_TOKEN_FILE and KITE_NODE_NAME,
// each else from its K3S_* name (so a k3s agent's environment carries over), and the node
// name and IP from the machine. Pods' DNS: --cluster-dns defaults to 10.43.0.10 (the kube-dns
// Service of the default service range, as k3s) and --resolv-conf to
// /run/systemd/resolve/resolv.conf when /etc/resolv.conf names only a loopback stub.
void resolveAgentFlags(AgentFlags& flags);

class RunningAgent {
 public:
  // Joins (throws std::runtime_error saying why it cannot) and starts the kubelet.
  explicit RunningAgent(AgentFlags flags);
  ~RunningAgent();
  RunningAgent(const RunningAgent&) = delete;
  RunningAgent& operator=(const RunningAgent&) = delete;

  void stop();

 private:
  // The kubelet and the Service proxy, on the node's credentials (joining first).
  void startParts();
  void stopParts();
  // The node's cluster DNS server on <node-ip>:53, which the kube-dns Service leads to; a
  // port that cannot be bound is logged, not fatal (the node still runs pods).
  void startDns(const std::string& kubeconfig);
  void rotateLoop();

  AgentFlags flags_;
  std::unique_ptr<DirLock> dirLock_;  // first: no second agent on the same state folder
  std::unique_ptr<RunningKubelet> kubelet_;
  std::unique_ptr<client::Client> proxyClient_;
  std::unique_ptr<proxy::Proxy> proxy_;
  std::unique_ptr<client::Client> policyClient_;
  std::unique_ptr<proxy::NetworkPolicyController> networkPolicy_;
  std::unique_ptr<client::Client> dnsClient_;
  std::unique_ptr<dns::DnsServer> dns_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread rotation_;
};

}  // namespace kite::cmd
