// `kite kubelet`: the kubelet alone. Today it runs static pods from
// --pod-manifest-path; the agent issue adds --kubeconfig (API-driven pods).

#include <httplib.h>
#include <malloc.h>
#include <spdlog/spdlog.h>

#include <csignal>
#include <filesystem>
#include <iostream>

#include "commands.h"
#include "kite/api/json.h"
#include "kite/api/quantity.h"
#include "kite/cri/grpc_client.h"
#include "kite/kubelet/config_source.h"
#include "kite/kubelet/container_log_manager.h"
#include "kite/kubelet/kubelet.h"
#include "kite/kubelet/manifest_watcher.h"
#include "kite/kubelet/node_info.h"
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
};

std::string podListJson(const std::vector<api::core::v1::Pod>& pods) {
  std::string out = R"({"kind":"PodList","apiVersion":"v1","metadata":{},"items":[)";
  for (std::size_t i = 0; i < pods.size(); ++i) {
    if (i > 0) out += ",";
    out += api::encodeJson(pods[i]);
  }
  return out + "]}";
}

void runKubelet(const KubeletFlags& flags) {
  if (flags.podManifestPath.empty()) {
    throw std::runtime_error(
        "--pod-manifest-path is required (API-driven pods arrive with the agent issue)");
  }
  if (!fs::is_directory(flags.podManifestPath)) {
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
  auto cri = cri::connect(criOptions);
  const auto version = cri.runtime->version();
  spdlog::info("container runtime {} {} (CRI {})", version.runtime_name(),
               version.runtime_version(), version.runtime_api_version());

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

  kubelet::ManifestWatcher watcher(flags.podManifestPath, [&](const auto& files) {
    const auto decoded = kubelet::decodeStaticPods(files, node.nodeName);
    for (const auto& error : decoded.errors) spdlog::error("static pod: {}", error);
    for (const auto& note : decoded.skipped) spdlog::info("static pod: {}", note);
    kubelet.setPods(decoded.pods);
  });
  watcher.start();

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
  spdlog::info("kubelet running node {} (static pods from {}, status on http://{}:{}/pods)",
               node.nodeName, flags.podManifestPath, flags.healthzBindAddress, flags.healthzPort);

  int signal = 0;
  sigwait(&stopSignals, &signal);
  spdlog::info("signal {}: stopping the kubelet; pods keep running", signal);
  server.stop();
  http.join();
  watcher.stop();
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
  auto* status = cmd->add_subcommand("status", "Print the pods of a running kubelet as JSON");
  cmd->callback([flags, cmd, status] {
    if (cmd->got_subcommand(status)) return;
    runKubelet(*flags);
  });
  status->callback([flags] { printStatus(flags->healthzBindAddress, flags->healthzPort); });
}

}  // namespace kite::cmd
