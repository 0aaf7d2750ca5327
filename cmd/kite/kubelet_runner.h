#pragma once
// The kubelet as a part other commands run in-process: `kite kubelet` runs it
// alone, `kite agent` and `kite server` (with its agent) next to their own
// parts. The flags are shared, so every command takes the same kubelet flags.
//
//   KubeletFlags flags;
//   addKubeletFlags(*cmd, flags);
//   ...
//   RunningKubelet kubelet(flags, restConfig);  // starts everything
//   ...                                         // e.g. the kubelet HTTPS server on
//                                               // kubelet.kubelet() and kubelet.cri()
//   kubelet.stop();

#include <CLI/CLI.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "kite/client/client.h"
#include "kite/client/config.h"
#include "kite/cri/grpc_client.h"
#include "kite/kubelet/kubelet.h"
#include "kite/kubelet/kubelet_server.h"

namespace kite::cmd {

struct KubeletFlags {
  std::string podManifestPath;
  std::string runtimeEndpoint = "unix:///run/containerd/containerd.sock";
  std::string rootDir = "/var/lib/kubelet";
  std::string podLogsDir = "/var/log/pods";
  std::string nodeName;
  std::string nodeIP;
  std::string cgroupRoot = "/";
  std::vector<std::string> clusterDns;
  std::string clusterDomain = "cluster.local";
  std::string resolvConf = "/etc/resolv.conf";
  std::string healthzBindAddress = "127.0.0.1";
  int healthzPort = 10248;
  int syncFrequencySeconds = 10;
  int runtimeRequestTimeoutSeconds = 120;
  std::string containerLogMaxSize = "10Mi";
  int containerLogMaxFiles = 5;
  int containerLogMonitorIntervalSeconds = 10;
  std::string kubeconfig;
  int maxPods = 110;
  std::string nodeStatusReportFrequency = "5m";
  std::string nodeLeaseRenewInterval = "10s";
  int nodeLeaseDurationSeconds = 40;
  // Node-pressure eviction (upstream's names): hard thresholds, checked every
  // --housekeeping-interval.
  std::string evictionHard = "memory.available<100Mi,nodefs.available<10%";
  std::string housekeepingInterval = "10s";
  // The kubelet's HTTPS server (kubelet/server): --port, --address, --tls-cert-file,
  // --tls-private-key-file, --client-ca-file, --authentication-token-webhook, --anonymous-auth.
  // Without --tls-cert-file it serves a self-signed certificate from <root-dir>/pki.
  kubelet::KubeletServerOptions server;
  // --authorization-mode: Webhook (SubjectAccessReview; the default with an API server) or
  // AlwaysAllow (the default without one).
  std::string authorizationMode;
};

// Registers the kubelet's flags (upstream's names) on a command.
void addKubeletFlags(CLI::App& cmd, KubeletFlags& flags);

// A duration as upstream's flags spell it ("10s", "5m", "1h30m", "500ms"), or plain seconds.
// Throws std::runtime_error naming the flag.
std::chrono::milliseconds parseDuration(const std::string& flag, const std::string& text);

// A kubelet running in this process: the container runtime, static pods from
// --pod-manifest-path, the loopback healthz/status endpoint, and with an API
// server the Node, its Lease, the pods bound to the node, their status and
// deletion. Stop it before the process exits; pods keep running.
class RunningKubelet {
 public:
  // Starts everything. The API server is apiConfig when given, else flags.kubeconfig when
  // set, else none (static pods only). Throws std::runtime_error on bad flags, or when the
  // runtime is unreachable and there is no API server (with one, the Node registers anyway
  // and pods wait for the runtime).
  explicit RunningKubelet(const KubeletFlags& flags,
                          std::optional<client::RestConfig> apiConfig = std::nullopt);
  ~RunningKubelet();
  RunningKubelet(const RunningKubelet&) = delete;
  RunningKubelet& operator=(const RunningKubelet&) = delete;

  // Stops every part (idempotent); the pods keep running.
  void stop();

  const std::string& nodeName() const;
  const std::string& nodeIP() const;
  // Null when the container runtime was not reachable at start.
  kubelet::Kubelet* kubelet();
  cri::Client* cri();
  // Null without an API server.
  client::Client* apiClient();

 private:
  struct Parts;
  std::unique_ptr<Parts> parts_;
};

}  // namespace kite::cmd
