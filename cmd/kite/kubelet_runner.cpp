#include "kubelet_runner.h"

#include <httplib.h>
#include <malloc.h>
#include <spdlog/spdlog.h>

#include <cctype>
#include <filesystem>
#include <thread>

#include "kite/api/json.h"
#include "kite/api/quantity.h"
#include "kite/kubelet/api_config_source.h"
#include "kite/kubelet/api_pod_source.h"
#include "kite/kubelet/config_source.h"
#include "kite/kubelet/container_log_manager.h"
#include "kite/kubelet/event_recorder.h"
#include "kite/kubelet/eviction.h"
#include "kite/kubelet/labels.h"
#include "kite/kubelet/manifest_watcher.h"
#include "kite/kubelet/mirror_pods.h"
#include "kite/kubelet/node_info.h"
#include "kite/kubelet/node_lease.h"
#include "kite/kubelet/node_status.h"
#include "kite/kubelet/pod_cgroups.h"
#include "kite/kubelet/pod_syncer.h"
#include "kite/kubelet/service_env.h"
#include "kite/kubelet/static_pods.h"
#include "kite/kubelet/status_manager.h"
#include "kite/kubelet/volume_manager.h"
#include "kite/volumes/mounter.h"

namespace kite::cmd {

namespace fs = std::filesystem;

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

void addKubeletServerFlags(CLI::App& cmd, KubeletFlags& flags) {
  auto& server = flags.server;
  cmd.add_option("--port", server.port, "The kubelet's HTTPS port (logs, exec, port-forward)")
      ->capture_default_str();
  cmd.add_option("--address", server.address, "The address the kubelet's HTTPS port binds")
      ->capture_default_str();
  cmd.add_option("--tls-cert-file", server.tlsCertFile,
                 "Serving certificate (default: self-signed under --root-dir/pki)");
  cmd.add_option("--tls-private-key-file", server.tlsPrivateKeyFile, "Key of --tls-cert-file");
  cmd.add_option("--client-ca-file", server.clientCaFile,
                 "CA bundle that client certificates must verify against");
  cmd.add_option("--authentication-token-webhook", server.authenticationTokenWebhook,
                 "Authenticate bearer tokens with a TokenReview to the API server")
      ->capture_default_str();
  cmd.add_option("--anonymous-auth", server.anonymousAuth,
                 "Serve unauthenticated requests as system:anonymous")
      ->capture_default_str();
  cmd.add_option("--authorization-mode", flags.authorizationMode,
                 "Webhook or AlwaysAllow (default: Webhook with an API server)")
      ->check(CLI::IsMember({"Webhook", "AlwaysAllow"}));
}

void addKubeletFlags(CLI::App& cmd, KubeletFlags& flags) {
  addKubeletServerFlags(cmd, flags);
  cmd.add_option("--pod-manifest-path", flags.podManifestPath,
                 "Directory of static pod manifests (YAML or JSON, multi-document files too)");
  cmd.add_option("--container-runtime-endpoint", flags.runtimeEndpoint, "CRI endpoint")
      ->capture_default_str();
  cmd.add_option("--root-dir", flags.rootDir, "Directory for pod volumes and state")
      ->capture_default_str();
  cmd.add_option("--pod-logs-dir", flags.podLogsDir, "Directory for container logs")
      ->capture_default_str();
  cmd.add_option("--hostname-override,--node-name", flags.nodeName,
                 "Node name (default: the hostname)");
  cmd.add_option("--node-ip", flags.nodeIP, "IP address of the node");
  cmd.add_option("--cgroup-root", flags.cgroupRoot, "Root cgroup for pods")->capture_default_str();
  cmd.add_option("--cluster-dns", flags.clusterDns, "DNS server IPs for pods")->delimiter(',');
  cmd.add_option("--cluster-domain", flags.clusterDomain, "Cluster DNS domain")
      ->capture_default_str();
  cmd.add_option("--resolv-conf", flags.resolvConf, "Resolver configuration for dnsPolicy Default")
      ->capture_default_str();
  cmd.add_option("--healthz-bind-address", flags.healthzBindAddress, "Health/status address")
      ->capture_default_str();
  cmd.add_option("--healthz-port", flags.healthzPort, "Health/status port")
      ->check(CLI::Range(1, 65535))
      ->capture_default_str();
  cmd.add_option("--sync-frequency", flags.syncFrequencySeconds, "Seconds between full resyncs")
      ->check(CLI::Range(1, 3600))
      ->capture_default_str();
  cmd.add_option("--runtime-request-timeout", flags.runtimeRequestTimeoutSeconds,
                 "Deadline of each CRI call in seconds")
      ->check(CLI::Range(1, 3600))
      ->capture_default_str();
  cmd.add_option("--container-log-max-size", flags.containerLogMaxSize,
                 "Size at which a container's log is rotated (a quantity, e.g. 10Mi)")
      ->capture_default_str();
  cmd.add_option("--container-log-max-files", flags.containerLogMaxFiles,
                 "Most log files kept per container, the current one included")
      ->check(CLI::Range(2, 1000))
      ->capture_default_str();
  cmd.add_option("--container-log-monitor-interval", flags.containerLogMonitorIntervalSeconds,
                 "Seconds between checks of the container logs' sizes")
      ->check(CLI::Range(1, 3600))
      ->capture_default_str();
  cmd.add_option("--kubeconfig", flags.kubeconfig,
                 "Kubeconfig of the API server: register the Node, report its status and renew "
                 "its Lease");
  cmd.add_option("--eviction-hard", flags.evictionHard,
                 "Hard eviction thresholds: memory.available<QUANTITY, nodefs.available<PERCENT%")
      ->capture_default_str();
  cmd.add_option("--housekeeping-interval", flags.housekeepingInterval,
                 "Time between checks of the eviction signals")
      ->capture_default_str();
  cmd.add_option("--max-pods", flags.maxPods, "Most pods this node runs (its pods capacity)")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  cmd.add_option("--node-status-report-frequency", flags.nodeStatusReportFrequency,
                 "Longest time between Node status writes when nothing changed")
      ->capture_default_str();
  cmd.add_option("--node-lease-renew-interval", flags.nodeLeaseRenewInterval,
                 "Time between renewals of the node Lease")
      ->capture_default_str();
  cmd.add_option("--node-lease-duration-seconds", flags.nodeLeaseDurationSeconds,
                 "leaseDurationSeconds of the node Lease")
      ->check(CLI::Range(1, 3600))
      ->capture_default_str();
}

namespace {

std::string podListJson(const std::vector<api::core::v1::Pod>& pods) {
  std::string out = R"({"kind":"PodList","apiVersion":"v1","metadata":{},"items":[)";
  for (std::size_t i = 0; i < pods.size(); ++i) {
    if (i > 0) out += ",";
    out += api::encodeJson(pods[i]);
  }
  return out + "]}";
}

bool fromApi(const api::core::v1::Pod& pod) {
  const auto it = pod.metadata.annotations.find(kubelet::kConfigSourceAnnotation);
  return it != pod.metadata.annotations.end() && it->second == "api";
}

}  // namespace

// Everything a running kubelet holds, in the order it is built (and destroyed in reverse).
struct RunningKubelet::Parts {
  KubeletFlags flags;
  std::string nodeName;
  std::string nodeIP;
  std::string runtimeVersion;
  std::optional<cri::Client> cri;
  std::unique_ptr<client::Client> api;
  // The Node (registration and status) and its Lease.
  std::unique_ptr<kubelet::NodeStatusManager> nodeStatus;
  std::unique_ptr<kubelet::NodeLease> lease;
  // The pods.
  kubelet::NodeFacts node;
  std::unique_ptr<volumes::Mounter> mounter;
  std::unique_ptr<kubelet::ServiceEnvSource> services;
  std::unique_ptr<kubelet::ConfigSource> config;
  kubelet::ApiConfigSource* apiConfig = nullptr;  // config, with an API server
  std::unique_ptr<kubelet::PodCgroups> cgroups;
  std::unique_ptr<kubelet::VolumeManager> volumeManager;
  std::unique_ptr<kubelet::PodSyncer> syncer;
  std::unique_ptr<kubelet::StatusManager> podStatus;
  std::unique_ptr<kubelet::EventRecorder> events;
  std::unique_ptr<kubelet::MirrorPods> mirrors;
  std::unique_ptr<kubelet::Kubelet> kubelet;
  std::unique_ptr<kubelet::EvictionManager> eviction;
  std::unique_ptr<kubelet::ContainerLogManager> logs;
  std::unique_ptr<kubelet::ManifestWatcher> watcher;
  std::unique_ptr<kubelet::ApiPodSource> apiPods;
  std::unique_ptr<httplib::Server> http;
  std::thread httpThread;
  std::shared_ptr<kubelet::KubeletAuthApi> serverAuth;
  std::unique_ptr<kubelet::KubeletServer> server;
  bool stopped = false;
  // The kubelet once its pods run, for the Node's Ready condition (read by the status thread).
  std::atomic<kubelet::Kubelet*> runningKubelet{nullptr};

  // Empty when the node is Ready; otherwise why not, in upstream's words: the runtime must
  // answer with RuntimeReady and NetworkReady (no pod could get an address before the CNI
  // configuration exists) and the PLEG must have relisted recently.
  std::string notReadyMessage() {
    if (!cri) return "container runtime is down";
    try {
      const auto status = cri->runtime->status();
      for (const auto& condition : status.status().conditions()) {
        if (condition.status()) continue;
        if (condition.type() == "RuntimeReady") return "container runtime is down";
        if (condition.type() == "NetworkReady") {
          return "container runtime network not ready: NetworkReady=false reason:" +
                 condition.reason() + " message:" + condition.message();
        }
      }
    } catch (const std::exception&) {
      return "container runtime is down";
    }
    auto* k = runningKubelet.load();
    if (k != nullptr && !k->healthy())
      return "PLEG is not healthy: pleg was last seen active "
             "more than 3m0s ago; threshold is 3m0s";
    return "";
  }

  void startEviction();
  void connectRuntime();
  void startNodeApi();
  void startPods();
  void startHttp();
  void startServer();
  void stop();
};

void RunningKubelet::Parts::connectRuntime() {
  cri::ClientOptions criOptions;
  criOptions.endpoint = flags.runtimeEndpoint;
  criOptions.requestTimeout = std::chrono::seconds(flags.runtimeRequestTimeoutSeconds);
  try {
    cri.emplace(cri::connect(criOptions));
    const auto version = cri->runtime->version();
    spdlog::info("container runtime {} {} (CRI {})", version.runtime_name(),
                 version.runtime_version(), version.runtime_api_version());
    runtimeVersion = version.runtime_name();
    runtimeVersion.append("://").append(version.runtime_version());
  } catch (const std::exception& e) {
    // Without an API server the runtime is all the kubelet has: fail. With one, the Node
    // still registers and keeps its Lease; pods wait for the runtime.
    cri.reset();
    if (!api) throw;
    spdlog::warn("container runtime at {} not reachable ({}); registering the node anyway",
                 flags.runtimeEndpoint, e.what());
  }
}

void RunningKubelet::Parts::startNodeApi() {
  kubelet::NodeStatusOptions statusOptions;
  statusOptions.nodeName = nodeName;
  // --hostname-override (alias --node-name) names the host too, as upstream's flag does.
  statusOptions.hostname = nodeName;
  statusOptions.nodeIP = nodeIP;
  statusOptions.rootDir = flags.rootDir;
  statusOptions.maxPods = flags.maxPods;
  statusOptions.kubeletPort = flags.server.port;
  statusOptions.eviction = kubelet::EvictionThresholds::parse(flags.evictionHard);
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
  nodeStatus = std::make_unique<kubelet::NodeStatusManager>(
      *api, base::realClock(), statusOptions, [this, statusOptions, version = runtimeVersion] {
        auto machine = kubelet::readMachine(statusOptions);
        machine.containerRuntimeVersion = version;
        machine.notReadyMessage = notReadyMessage();
        return machine;
      });
  // The Lease starts once the Node exists, so it can name the Node as its owner.
  nodeStatus->onRegistered([this, leaseOptions](const api::core::v1::Node& n) {
    if (lease) return;
    auto withOwner = leaseOptions;
    withOwner.nodeUID = n.metadata.uid;
    lease = std::make_unique<kubelet::NodeLease>(*api, base::realClock(), withOwner);
    lease->start();
  });
  // The runtime renders its CNI config for the node's pod CIDR (containerd's conf_template)
  // only once told, as upstream's kubelet tells it (updatePodCIDR).
  nodeStatus->onPodCidrs([this](const std::vector<std::string>& cidrs) {
    if (!cri) return;
    std::string joined;
    for (const auto& cidr : cidrs) joined += (joined.empty() ? "" : ",") + cidr;
    cri->runtime->updateRuntimeConfig(joined);
  });
  nodeStatus->start();
}

void RunningKubelet::Parts::startPods() {
  node.nodeName = nodeName;
  node.hostIP = nodeIP;
  node.memoryCapacity = kubelet::machineMemoryBytes();
  node.allocatableMilliCpu = kubelet::machineMilliCpu();
  node.podLogsRoot = flags.podLogsDir;
  node.seccompProfileRoot = fs::path(flags.rootDir) / "seccomp";
  node.resolvConf = flags.resolvConf;
  node.clusterDns = flags.clusterDns;
  node.clusterDomain = flags.clusterDomain;
  fs::create_directories(flags.rootDir);
  fs::create_directories(flags.podLogsDir);

  kubelet::ContainerLogPolicy logPolicy;
  const auto maxSize = api::Quantity::tryParse(flags.containerLogMaxSize);
  if (!maxSize || maxSize->value() <= 0) {
    throw std::runtime_error("--container-log-max-size " + flags.containerLogMaxSize +
                             " is not a positive quantity (e.g. 10Mi)");
  }
  logPolicy.maxSizeBytes = static_cast<uint64_t>(maxSize->value());
  logPolicy.maxFiles = flags.containerLogMaxFiles;

  mounter = volumes::newSystemMounter();
  if (api) {
    services = std::make_unique<kubelet::ServiceEnvSource>(*api);
    services->start();
    // Containers started before the Services are known would miss their variables.
    if (!services->waitForSync(std::chrono::seconds(10))) {
      spdlog::warn("services not listed yet: containers may miss their service variables");
    }
    auto source = std::make_unique<kubelet::ApiConfigSource>(*api, base::realClock(),
                                                             services.get(), nodeName);
    apiConfig = source.get();
    config = std::move(source);
  } else {
    config = std::make_unique<kubelet::NoConfigSource>();
  }
  cgroups = std::make_unique<kubelet::PodCgroups>("/sys/fs/cgroup", flags.cgroupRoot);
  volumeManager = std::make_unique<kubelet::VolumeManager>(
      *mounter, flags.rootDir, *config, static_cast<uint64_t>(node.memoryCapacity));
  syncer = std::make_unique<kubelet::PodSyncer>(*cri->runtime, *cri->images, *volumeManager,
                                                *cgroups, *config, base::realClock(), node);
  kubelet::KubeletOptions options;
  options.syncFrequency = std::chrono::seconds(flags.syncFrequencySeconds);
  if (!flags.podManifestPath.empty()) options.sources.insert("file");
  if (api) options.sources.insert("api");
  kubelet = std::make_unique<kubelet::Kubelet>(*syncer, base::realClock(), options);
  runningKubelet = kubelet.get();
  if (api) {
    podStatus = std::make_unique<kubelet::StatusManager>(*api);
    events = std::make_unique<kubelet::EventRecorder>(*api, nodeName, base::realClock());
    if (!flags.podManifestPath.empty()) {
      mirrors = std::make_unique<kubelet::MirrorPods>(*api, nodeName);
    }
    kubelet::KubeletHooks hooks;
    hooks.onStatus = [this](const api::core::v1::Pod& pod) {
      if (fromApi(pod)) {
        podStatus->setStatus(pod);
      } else if (mirrors) {
        // A static pod's status goes to its mirror pod.
        const std::string mirrorUid = mirrors->mirrorUid(pod.metadata.uid);
        if (mirrorUid.empty()) return;
        auto mirror = pod;
        mirror.metadata.uid = mirrorUid;
        podStatus->setStatus(mirror);
      }
    };
    hooks.onTerminated = [this](const api::core::v1::Pod& pod) {
      apiConfig->forgetPod(pod.metadata.uid);
      events->forgetPod(pod.metadata.uid);
      if (fromApi(pod) && pod.metadata.deletionTimestamp) podStatus->terminated(pod);
    };
    hooks.onEvent = [this](const api::core::v1::Pod& pod, const kubelet::PodEvent& event) {
      events->record(pod, event);
    };
    kubelet->setHooks(std::move(hooks));
    podStatus->start();
    events->start();
    if (mirrors) mirrors->start();
  }
  kubelet->start();
  startEviction();

  logs =
      std::make_unique<kubelet::ContainerLogManager>(*cri->runtime, base::realClock(), logPolicy);
  logs->start(std::chrono::seconds(flags.containerLogMonitorIntervalSeconds));

  if (!flags.podManifestPath.empty()) {
    watcher = std::make_unique<kubelet::ManifestWatcher>(
        flags.podManifestPath, [this](const auto& files) {
          const auto decoded = kubelet::decodeStaticPods(files, node.nodeName);
          for (const auto& error : decoded.errors) spdlog::error("static pod: {}", error);
          for (const auto& note : decoded.skipped) spdlog::info("static pod: {}", note);
          kubelet->updatePods("file", decoded.pods);
          if (mirrors) mirrors->setStaticPods(decoded.pods);
        });
    watcher->start();
  }
  if (api) {
    apiPods = std::make_unique<kubelet::ApiPodSource>(
        *api, nodeName, [this](const auto& pods) { kubelet->updatePods("api", pods); });
    apiPods->start();
  }
}

void RunningKubelet::Parts::startHttp() {
  // Loopback-only health and status endpoint, as upstream's healthz port.
  http = std::make_unique<httplib::Server>();
  http->Get("/healthz", [this](const httplib::Request&, httplib::Response& res) {
    const bool ok = kubelet == nullptr || kubelet->healthy();
    res.status = ok ? 200 : 500;
    res.set_content(ok ? "ok" : "pleg not healthy", "text/plain");
  });
  http->Get("/pods", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(podListJson(kubelet ? kubelet->pods() : std::vector<api::core::v1::Pod>{}),
                    "application/json");
  });
  if (!http->bind_to_port(flags.healthzBindAddress, flags.healthzPort)) {
    throw std::runtime_error("cannot listen on " + flags.healthzBindAddress + ":" +
                             std::to_string(flags.healthzPort));
  }
  httpThread = std::thread([this] { http->listen_after_bind(); });
}

void RunningKubelet::Parts::startServer() {
  auto options = flags.server;
  options.nodeName = nodeName;
  options.authorizeWithWebhook =
      flags.authorizationMode.empty() ? api != nullptr : flags.authorizationMode == "Webhook";
  options.authenticationTokenWebhook = options.authenticationTokenWebhook && api != nullptr;
  if (options.tlsCertFile.empty()) {
    kubelet::ensureSelfSignedServingCertificate(options, flags.rootDir, nodeName, {nodeIP});
  }
  kubelet::KubeletServerSources sources;
  sources.runtime = cri->runtime.get();
  sources.podsJson = [this] {
    return podListJson(kubelet ? kubelet->pods() : std::vector<api::core::v1::Pod>{});
  };
  if (api) {
    serverAuth = kubelet::makeApiServerAuth(*api);
    sources.authApi = serverAuth;
  }
  try {
    server = kubelet::startKubeletServer(options, std::move(sources));
  } catch (const std::exception& e) {
    // The pods still run; only logs, exec and port-forward through the API server fail.
    spdlog::error("kubelet server not started: {}", e.what());
  }
}

void RunningKubelet::Parts::startEviction() {
  kubelet::NodeStatusOptions machineOptions;
  machineOptions.rootDir = flags.rootDir;
  eviction = std::make_unique<kubelet::EvictionManager>(
      *kubelet, kubelet::EvictionThresholds::parse(flags.evictionHard),
      [machineOptions] {
        const auto m = kubelet::readMachine(machineOptions);
        return kubelet::EvictionSignals{m.memoryAvailableBytes, m.nodefsAvailableBytes,
                                        m.nodefsCapacityBytes};
      },
      [this](const std::string& resource) {
        // Per pod: containers' working set (memory) or writable layer (ephemeral-storage).
        std::map<std::string, int64_t> usage;
        for (const auto& stats : cri->runtime->listContainerStats()) {
          const auto& labels = stats.attributes().labels();
          const auto uid = labels.find(kubelet::labels::kPodUid);
          if (uid == labels.end()) continue;
          usage[uid->second] += static_cast<int64_t>(
              resource == "memory" ? stats.memory().working_set_bytes().value()
                                   : stats.writable_layer().used_bytes().value());
        }
        return usage;
      });
  eviction->start(parseDuration("--housekeeping-interval", flags.housekeepingInterval));
}

void RunningKubelet::Parts::stop() {
  if (stopped) return;
  stopped = true;
  runningKubelet = nullptr;
  if (eviction) eviction->stop();
  if (server) server->stop();
  if (http) {
    http->stop();
    if (httpThread.joinable()) httpThread.join();
  }
  // The sources first, so nothing new arrives; the status thread may still be starting the
  // lease: stop it before the lease.
  if (apiPods) apiPods->stop();
  if (watcher) watcher->stop();
  if (nodeStatus) nodeStatus->stop();
  if (lease) lease->stop();
  if (logs) logs->stop();
  if (kubelet) kubelet->stop();
  if (mirrors) mirrors->stop();
  if (events) events->stop();
  if (podStatus) podStatus->stop();
  if (services) services->stop();
}

RunningKubelet::RunningKubelet(const KubeletFlags& flags,
                               std::optional<client::RestConfig> apiConfig)
    : parts_(std::make_unique<Parts>()) {
  auto& p = *parts_;
  p.flags = flags;
  if (!apiConfig && !flags.kubeconfig.empty()) apiConfig = client::loadKubeconfig(flags.kubeconfig);
  if (flags.podManifestPath.empty() && !apiConfig) {
    throw std::runtime_error("--pod-manifest-path or --kubeconfig is required");
  }
  if (!flags.podManifestPath.empty() && !fs::is_directory(flags.podManifestPath)) {
    throw std::runtime_error("--pod-manifest-path " + flags.podManifestPath +
                             " is not a directory");
  }
  // Checked before anything starts, so a typo fails at once.
  parseDuration("--node-status-report-frequency", flags.nodeStatusReportFrequency);
  parseDuration("--node-lease-renew-interval", flags.nodeLeaseRenewInterval);
  // glibc gives each thread that allocates its own malloc arena (up to 8 per core); with a
  // worker per pod, probe threads and parallel container stops that doubled the kubelet's
  // RSS for no speed gain. Two arenas suffice.
  mallopt(M_ARENA_MAX, 2);
  p.nodeName = flags.nodeName.empty() ? kubelet::defaultHostname() : flags.nodeName;
  p.nodeIP = flags.nodeIP.empty() ? kubelet::defaultNodeIP() : flags.nodeIP;
  if (apiConfig) p.api = std::make_unique<client::Client>(std::move(*apiConfig));
  try {
    p.connectRuntime();
    if (p.api) p.startNodeApi();
    if (p.cri) {
      p.startPods();
      p.startHttp();
      p.startServer();
    }
  } catch (...) {
    p.stop();
    throw;
  }
  spdlog::info(
      "kubelet running node {} (static pods from {}, API server {}, status on "
      "http://{}:{}/pods)",
      p.nodeName, flags.podManifestPath.empty() ? "-" : flags.podManifestPath,
      p.api ? p.api->config().server : "-", flags.healthzBindAddress, flags.healthzPort);
}

RunningKubelet::~RunningKubelet() { stop(); }

void RunningKubelet::stop() { parts_->stop(); }

const std::string& RunningKubelet::nodeName() const { return parts_->nodeName; }
const std::string& RunningKubelet::nodeIP() const { return parts_->nodeIP; }
kubelet::Kubelet* RunningKubelet::kubelet() { return parts_->kubelet.get(); }
cri::Client* RunningKubelet::cri() { return parts_->cri ? &*parts_->cri : nullptr; }
client::Client* RunningKubelet::apiClient() { return parts_->api.get(); }

}  // namespace kite::cmd
