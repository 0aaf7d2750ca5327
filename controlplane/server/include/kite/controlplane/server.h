#pragma once
// `kite server`: the control plane in one process — PKI on first start, the datastore
// (embedded SQLite, or etcd with --datastore-endpoint), the API server on HTTPS, and the
// admin kubeconfig. (Scheduler, controllers and the in-process agent join it in later
// issues.)

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace kite::controlplane {

struct ServerConfig {
  std::filesystem::path dataDir = "/var/lib/kite";
  std::string bindAddress = "0.0.0.0";
  std::uint16_t httpsPort = 6443;
  std::filesystem::path writeKubeconfig;  // empty: <data-dir>/server/cred/admin.kubeconfig only
  unsigned kubeconfigMode = 0600;
  std::vector<std::string> tlsSans;
  std::vector<std::string> nodeIps;
  std::string serviceCidr = "10.43.0.0/16";
  std::string clusterCidr = "10.42.0.0/16";
  int nodePortMin = 30000;
  int nodePortMax = 32767;
  std::string datastoreEndpoint;  // empty: SQLite under <data-dir>/server/db
  std::string token;              // empty: generated on first start
  unsigned workerThreads = 32;
  // As k3s's --disable-scheduler / --disable-controller-manager: run without them (tests
  // that run their own, or a cluster whose scheduler lives elsewhere).
  bool disableScheduler = false;
  bool disableControllerManager = false;
  // Node failure timings (upstream's kube-controller-manager --node-monitor-grace-period and
  // kube-apiserver --default-{not-ready,unreachable}-toleration-seconds).
  std::chrono::milliseconds nodeMonitorGracePeriod{40'000};
  std::int64_t defaultNotReadyTolerationSeconds = 300;
  std::int64_t defaultUnreachableTolerationSeconds = 300;
};

class Server {
 public:
  virtual ~Server() = default;
  virtual std::uint16_t port() const = 0;
  // The kubeconfig path written for the admin.
  virtual std::filesystem::path kubeconfigPath() const = 0;
  virtual void stop() = 0;
};

// Starts serving; throws std::runtime_error (or a subclass) naming what failed.
std::unique_ptr<Server> startServer(const ServerConfig& config);

// "30000-32767" → {30000, 32767}; throws std::invalid_argument.
std::pair<int, int> parsePortRange(const std::string& text);

}  // namespace kite::controlplane
