// `kite kubelet`: the kubelet alone. It runs static pods from --pod-manifest-path; with
// --kubeconfig it also registers its Node with the API server, reports the Node's status and
// renews the node Lease.

#include <httplib.h>
#include <malloc.h>
#include <spdlog/spdlog.h>

#include <cctype>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>

#include "commands.h"
#include "kite/api/json.h"
#include "kite/api/quantity.h"
#include "kite/client/client.h"
#include "kite/client/config.h"
#include "kite/cri/grpc_client.h"
#include "kite/kubelet/config_source.h"
#include "kite/kubelet/container_log_manager.h"
#include "kite/kubelet/kubelet.h"
#include "kite/kubelet/manifest_watcher.h"
#include "kite/kubelet/node_info.h"
#include "kite/kubelet/node_lease.h"
#include "kite/kubelet/node_status.h"
#include "kite/kubelet/pod_cgroups.h"
#include "kite/kubelet/pod_syncer.h"
#include "kite/kubelet/static_pods.h"
#include "kite/kubelet/volume_manager.h"
#include "kite/volumes/mounter.h"

namespace kite::cmd {

namespace {

namespace fs = std::filesystem;

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
};

// A duration as upstream's flags spell it ("10s", "5m", "1h30m", "500ms"), or plain seconds.
std::chrono::milliseconds parseDuration(const std::string& flag, const std::string& text) {
  const auto bad = [&] {
    return std::runtime_error(flag + " " + text + " is not a duration (e.g. 10s, 5m, 500ms)");
  };
  if (text.empty()) throw bad();
  if (text.find_first_not_of("0123456789") == std::string::npos) {
    return std::chrono::seconds(std::stoll(text));
  }
  std::chrono::milliseconds total{0};
  std::size_t i = 0;
  while (i < text.size()) {
    const std::size_t start = i;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i])) != 0) ++i;
    if (i == start) throw bad();
    const long long n = std::stoll(text.substr(start, i - start));
    if (text.compare(i, 2, "ms") == 0) {
      total += std::chrono::milliseconds(n);
      i += 2;
    } else if (i < text.size() && text[i] == 's') {
      total += std::chrono::seconds(n);
      ++i;
    } else if (i < text.size() && text[i] == 'm') {
      total += std::chrono::minutes(n);
      ++i;
    } else if (i < text.size() && text[i] == 'h') {
      total += std::chrono::hours(n);
      ++i;
    } else {
      throw bad();
    }
  }
  if (total.count() <= 0) throw bad();
  return total;
}

std::string podListJson(const std::vector<api::core::v1::Pod>& pods) {
  std::string out = R"({"kind":"PodList","apiVersion":"v1","metadata":{},"items":[)";
  for (std::size_t i = 0; i < pods.size(); ++i) {
    if (i > 0) out += ",";
    out += api::encodeJson(pods[i]);
  }
  return out + "]}";
}

// The Node (registration and status) and its Lease, when the kubelet has an API server.
struct NodeApi {
  std::unique_ptr<client::Client> client;
  std::unique_ptr<kubelet::NodeLease> lease;
  std::unique_ptr<kubelet::NodeStatusManager> status;
  // The status thread may still be starting the lease: stop it first.
  void stop() const {
    if (status) status->stop();
    if (lease) lease->stop();
  }
};

void startNodeApi(NodeApi& out, const KubeletFlags& flags, const std::string& nodeName,
                  const std::string& hostIP, const std::string& runtimeVersion) {
  out.client = std::make_unique<client::Client>(client::loadKubeconfig(flags.kubeconfig));
  kubelet::NodeStatusOptions statusOptions;
  statusOptions.nodeName = nodeName;
  statusOptions.hostname = kubelet::defaultHostname();
  statusOptions.nodeIP = hostIP;
  statusOptions.rootDir = flags.rootDir;
  statusOptions.maxPods = flags.maxPods;
  statusOptions.reportFrequency = std::chrono::duration_cast<std::chrono::seconds>(
      parseDuration("--node-status-report-frequency", flags.nodeStatusReportFrequency));
  if (statusOptions.reportFrequency < statusOptions.checkFrequency) {
    statusOptions.checkFrequency = std::max(statusOptions.reportFrequency, std::chrono::seconds(1));
  }
  kubelet::NodeLeaseOptions leaseOptions;
  leaseOptions.nodeName = nodeName;
  leaseOptions.leaseDurationSeconds = flags.nodeLeaseDurationSeconds;
  leaseOptions.renewInterval =
      parseDuration("--node-lease-renew-interval", flags.nodeLeaseRenewInterval);
  out.status = std::make_unique<kubelet::NodeStatusManager>(
      *out.client, base::realClock(), statusOptions, [statusOptions, runtimeVersion] {
        auto machine = kubelet::readMachine(statusOptions);
        machine.containerRuntimeVersion = runtimeVersion;
        return machine;
      });
  // The Lease starts once the Node exists, so it can name the Node as its owner.
  out.status->onRegistered([&out, leaseOptions](const api::core::v1::Node& n) {
    if (out.lease) return;
    auto withOwner = leaseOptions;
    withOwner.nodeUID = n.metadata.uid;
    out.lease = std::make_unique<kubelet::NodeLease>(*out.client, base::realClock(), withOwner);
    out.lease->start();
  });
  out.status->start();
}

void runKubelet(const KubeletFlags& flags) {
  const bool withApi = !flags.kubeconfig.empty();
  if (flags.podManifestPath.empty() && !withApi) {
    throw std::runtime_error("--pod-manifest-path or --kubeconfig is required");
  }
  if (!flags.podManifestPath.empty() && !fs::is_directory(flags.podManifestPath)) {
    throw std::runtime_error("--pod-manifest-path " + flags.podManifestPath +
                             " is not a directory");
  }
  // glibc gives each thread that allocates its own malloc arena (up to 8 per
  // core); with a worker per pod, probe threads and parallel container stops
  // that doubled the kubelet's RSS for no speed gain. Two arenas suffice.
  mallopt(M_ARENA_MAX, 2);
  // Block the stop signals before any thread starts, so only sigwait sees them.
  sigset_t stopSignals;
  sigemptyset(&stopSignals);
  sigaddset(&stopSignals, SIGTERM);
  sigaddset(&stopSignals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stopSignals, nullptr);

  cri::ClientOptions criOptions;
  criOptions.endpoint = flags.runtimeEndpoint;
  criOptions.requestTimeout = std::chrono::seconds(flags.runtimeRequestTimeoutSeconds);
  std::string runtimeVersion;
  std::optional<cri::Client> criClient;
  try {
    criClient.emplace(cri::connect(criOptions));
    auto& cri = *criClient;
    const auto version = cri.runtime->version();
    spdlog::info("container runtime {} {} (CRI {})", version.runtime_name(),
                 version.runtime_version(), version.runtime_api_version());
    runtimeVersion = version.runtime_name();
    runtimeVersion.append("://").append(version.runtime_version());
  } catch (const std::exception& e) {
    // Without an API server the runtime is all the kubelet has: fail as before. With one, the
    // Node still registers and keeps its Lease; pods wait for the runtime.
    if (!withApi) throw;
    spdlog::warn("container runtime at {} not reachable ({}); registering the node anyway",
                 flags.runtimeEndpoint, e.what());
  }
  if (!criClient) {
    // No runtime: the node registers and keeps its Lease; pods need the runtime.
    NodeApi nodeApi;
    startNodeApi(nodeApi, flags,
                 flags.nodeName.empty() ? kubelet::defaultHostname() : flags.nodeName,
                 flags.nodeIP.empty() ? kubelet::defaultNodeIP() : flags.nodeIP, runtimeVersion);
    int signal = 0;
    sigwait(&stopSignals, &signal);
    spdlog::info("signal {}: stopping the kubelet", signal);
    nodeApi.stop();
    return;
  }
  auto& cri = *criClient;

  kubelet::NodeFacts node;
  node.nodeName = flags.nodeName.empty() ? kubelet::defaultHostname() : flags.nodeName;
  node.hostIP = flags.nodeIP.empty() ? kubelet::defaultNodeIP() : flags.nodeIP;
  node.memoryCapacity = kubelet::machineMemoryBytes();
  node.allocatableMilliCpu = kubelet::machineMilliCpu();
  node.podLogsRoot = flags.podLogsDir;
  node.seccompProfileRoot = fs::path(flags.rootDir) / "seccomp";
  node.resolvConf = flags.resolvConf;
  node.clusterDns = flags.clusterDns;
  node.clusterDomain = flags.clusterDomain;
  fs::create_directories(flags.rootDir);
  fs::create_directories(flags.podLogsDir);

  auto mounter = volumes::newSystemMounter();
  kubelet::NoConfigSource config;
  kubelet::PodCgroups cgroups("/sys/fs/cgroup", flags.cgroupRoot);
  kubelet::VolumeManager volumeManager(*mounter, flags.rootDir, config,
                                       static_cast<uint64_t>(node.memoryCapacity));
  kubelet::PodSyncer syncer(*cri.runtime, *cri.images, volumeManager, cgroups, config,
                            base::realClock(), node);
  kubelet::KubeletOptions options;
  options.syncFrequency = std::chrono::seconds(flags.syncFrequencySeconds);
  kubelet::Kubelet kubelet(syncer, base::realClock(), options);
  kubelet.start();

  kubelet::ContainerLogPolicy logPolicy;
  const auto maxSize = api::Quantity::tryParse(flags.containerLogMaxSize);
  if (!maxSize || maxSize->value() <= 0) {
    throw std::runtime_error("--container-log-max-size " + flags.containerLogMaxSize +
                             " is not a positive quantity (e.g. 10Mi)");
  }
  logPolicy.maxSizeBytes = static_cast<uint64_t>(maxSize->value());
  logPolicy.maxFiles = flags.containerLogMaxFiles;
  kubelet::ContainerLogManager logs(*cri.runtime, base::realClock(), logPolicy);
  logs.start(std::chrono::seconds(flags.containerLogMonitorIntervalSeconds));

  std::optional<kubelet::ManifestWatcher> watcher;
  if (!flags.podManifestPath.empty()) {
    watcher.emplace(flags.podManifestPath, [&](const auto& files) {
      const auto decoded = kubelet::decodeStaticPods(files, node.nodeName);
      for (const auto& error : decoded.errors) spdlog::error("static pod: {}", error);
      for (const auto& note : decoded.skipped) spdlog::info("static pod: {}", note);
      kubelet.setPods(decoded.pods);
    });
    watcher->start();
  }

  // The API server side: the Node (registration and status) and its Lease.
  NodeApi nodeApi;
  if (withApi) startNodeApi(nodeApi, flags, node.nodeName, node.hostIP, runtimeVersion);

  // Loopback-only health and status endpoint, as upstream's healthz port.
  httplib::Server server;
  server.Get("/healthz", [&](const httplib::Request&, httplib::Response& res) {
    res.status = kubelet.healthy() ? 200 : 500;
    res.set_content(kubelet.healthy() ? "ok" : "pleg not healthy", "text/plain");
  });
  server.Get("/pods", [&](const httplib::Request&, httplib::Response& res) {
    res.set_content(podListJson(kubelet.pods()), "application/json");
  });
  if (!server.bind_to_port(flags.healthzBindAddress, flags.healthzPort)) {
    throw std::runtime_error("cannot listen on " + flags.healthzBindAddress + ":" +
                             std::to_string(flags.healthzPort));
  }
  std::thread http([&] { server.listen_after_bind(); });
  spdlog::info(
      "kubelet running node {} (static pods from {}, API server {}, status on "
      "http://{}:{}/pods)",
      node.nodeName, flags.podManifestPath.empty() ? "-" : flags.podManifestPath,
      withApi ? flags.kubeconfig : "-", flags.healthzBindAddress, flags.healthzPort);

  int signal = 0;
  sigwait(&stopSignals, &signal);
  spdlog::info("signal {}: stopping the kubelet; pods keep running", signal);
  server.stop();
  http.join();
  // The status thread may still be starting the lease: stop it first.
  nodeApi.stop();
  if (watcher) watcher->stop();
  logs.stop();
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
  cmd->add_option("--pod-manifest-path", flags->podManifestPath,
                  "Directory of static pod manifests (YAML or JSON, multi-document files too)");
  cmd->add_option("--container-runtime-endpoint", flags->runtimeEndpoint, "CRI endpoint")
      ->capture_default_str();
  cmd->add_option("--root-dir", flags->rootDir, "Directory for pod volumes and state")
      ->capture_default_str();
  cmd->add_option("--pod-logs-dir", flags->podLogsDir, "Directory for container logs")
      ->capture_default_str();
  cmd->add_option("--hostname-override,--node-name", flags->nodeName,
                  "Node name (default: the hostname)");
  cmd->add_option("--node-ip", flags->nodeIP, "IP address of the node");
  cmd->add_option("--cgroup-root", flags->cgroupRoot, "Root cgroup for pods")
      ->capture_default_str();
  cmd->add_option("--cluster-dns", flags->clusterDns, "DNS server IPs for pods")->delimiter(',');
  cmd->add_option("--cluster-domain", flags->clusterDomain, "Cluster DNS domain")
      ->capture_default_str();
  cmd->add_option("--resolv-conf", flags->resolvConf,
                  "Resolver configuration for dnsPolicy Default")
      ->capture_default_str();
  cmd->add_option("--healthz-bind-address", flags->healthzBindAddress, "Health/status address")
      ->capture_default_str();
  cmd->add_option("--healthz-port", flags->healthzPort, "Health/status port")
      ->check(CLI::Range(1, 65535))
      ->capture_default_str();
  cmd->add_option("--sync-frequency", flags->syncFrequencySeconds, "Seconds between full resyncs")
      ->check(CLI::Range(1, 3600))
      ->capture_default_str();
  cmd->add_option("--runtime-request-timeout", flags->runtimeRequestTimeoutSeconds,
                  "Deadline of each CRI call in seconds")
      ->check(CLI::Range(1, 3600))
      ->capture_default_str();
  cmd->add_option("--container-log-max-size", flags->containerLogMaxSize,
                  "Size at which a container's log is rotated (a quantity, e.g. 10Mi)")
      ->capture_default_str();
  cmd->add_option("--container-log-max-files", flags->containerLogMaxFiles,
                  "Most log files kept per container, the current one included")
      ->check(CLI::Range(2, 1000))
      ->capture_default_str();
  cmd->add_option("--container-log-monitor-interval", flags->containerLogMonitorIntervalSeconds,
                  "Seconds between checks of the container logs' sizes")
      ->check(CLI::Range(1, 3600))
      ->capture_default_str();
  cmd->add_option("--kubeconfig", flags->kubeconfig,
                  "Kubeconfig of the API server: register the Node, report its status and renew "
                  "its Lease");
  cmd->add_option("--max-pods", flags->maxPods, "Most pods this node runs (its pods capacity)")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  cmd->add_option("--node-status-report-frequency", flags->nodeStatusReportFrequency,
                  "Longest time between Node status writes when nothing changed")
      ->capture_default_str();
  cmd->add_option("--node-lease-renew-interval", flags->nodeLeaseRenewInterval,
                  "Time between renewals of the node Lease")
      ->capture_default_str();
  cmd->add_option("--node-lease-duration-seconds", flags->nodeLeaseDurationSeconds,
                  "leaseDurationSeconds of the node Lease")
      ->check(CLI::Range(1, 3600))
      ->capture_default_str();
  auto* status = cmd->add_subcommand("status", "Print the pods of a running kubelet as JSON");
  cmd->callback([flags, cmd, status] {
    if (cmd->got_subcommand(status)) return;
    runKubelet(*flags);
  });
  status->callback([flags] { printStatus(flags->healthzBindAddress, flags->healthzPort); });
}

}  // namespace kite::cmd
