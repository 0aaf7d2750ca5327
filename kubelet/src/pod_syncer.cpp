#include "kite/kubelet/pod_syncer.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <fstream>
#include <future>
#include <optional>
#include <sstream>

#include "kite/api/json.h"
#include "kite/kubelet/container_config.h"
#include "kite/kubelet/container_env.h"
#include "kite/kubelet/etc_hosts.h"
#include "kite/kubelet/labels.h"
#include "kite/kubelet/lifecycle_hooks.h"
#include "kite/kubelet/pod_hostname.h"
#include "kite/kubelet/pod_spec.h"
#include "kite/kubelet/qos.h"
#include "kite/kubelet/sandbox_config.h"
#include "kite/kubelet/sandbox_config_error.h"
#include "kite/kubelet/security_context.h"

namespace kite::kubelet {

namespace corev1 = api::core::v1;
namespace fs = std::filesystem;

namespace {
constexpr std::size_t kMaxTerminationMessage = 4096;

int64_t gracePeriodOf(const corev1::Pod& pod) {
  return pod.spec.terminationGracePeriodSeconds.value_or(30);
}

std::string readHead(const fs::path& file, std::size_t limit) {
  std::ifstream in(file, std::ios::binary);
  std::string data(limit, '\0');
  in.read(data.data(), static_cast<std::streamsize>(limit));
  data.resize(static_cast<std::size_t>(in.gcount()));
  return data;
}
}  // namespace

PodSyncer::PodSyncer(cri::Runtime& runtime, cri::Images& images, VolumeManager& volumes,
                     const PodCgroups& cgroups, ConfigSource& config, const base::Clock& clock,
                     NodeFacts node)
    : runtime_(runtime),
      images_(images, clock),
      volumes_(volumes),
      cgroups_(cgroups),
      config_(config),
      clock_(clock),
      node_(std::move(node)),
      crashBackoff_(clock, std::chrono::seconds(10), std::chrono::minutes(5)) {}

fs::path PodSyncer::podLogDir(const corev1::Pod& pod) const {
  return node_.podLogsRoot /
         (pod.metadata.namespace_ + "_" + pod.metadata.name + "_" + pod.metadata.uid);
}

PodRuntimeFacts PodSyncer::factsFor(const RuntimePod& runtime) const {
  PodRuntimeFacts facts;
  facts.nodeName = node_.nodeName;
  facts.hostIP = node_.hostIP;
  facts.nodeAllocatableMilliCpu = node_.allocatableMilliCpu;
  facts.nodeAllocatableMemory = node_.memoryCapacity;
  if (runtime.sandboxReady()) {
    facts.podIP = runtime.newestSandbox()->network().ip();
    facts.podIPs.push_back(facts.podIP);
    for (const auto& ip : runtime.newestSandbox()->network().additional_ips()) {
      facts.podIPs.push_back(ip.ip());
    }
  }
  return facts;
}

cri::v1::PodSandboxConfig PodSyncer::sandboxFor(const corev1::Pod& pod, uint32_t attempt) const {
  SandboxOptions options;
  options.attempt = attempt;
  options.podLogDir = podLogDir(pod).string();
  options.cgroupParent = cgroups_.podCgroupPath(pod.metadata.uid, qosClassOf(pod.spec));
  options.hostResolvConf = node_.resolvConf.string();
  options.clusterDNS = node_.clusterDns;
  options.clusterDomain = node_.clusterDomain;
  return sandboxConfig(pod, options);
}

RuntimePod PodSyncer::observe(const corev1::Pod& pod) {
  RuntimePod runtime = readRuntimePod(runtime_, pod.metadata.uid);
  fillTerminationMessages(pod, runtime);
  return runtime;
}

std::string PodSyncer::emptyDirEviction(const corev1::Pod& pod) const {
  const auto over = volumes_.emptyDirsOverLimit(pod);
  if (over.empty()) return "";
  for (const auto& volume : pod.spec.volumes) {
    if (volume.name != over.front()) continue;
    // Upstream's wording, trailing space included.
    return "Usage of EmptyDir volume \"" + volume.name + "\" exceeds the limit \"" +
           volume.emptyDir->sizeLimit->toString() + "\". ";
  }
  return "";
}

SyncResult PodSyncer::sync(const corev1::Pod& pod, const std::set<std::string>& unhealthy) {
  SyncResult result;
  RuntimePod runtime = readRuntimePod(runtime_, pod.metadata.uid);

  // Local storage eviction, as upstream's eviction manager does for a disk
  // emptyDir over its sizeLimit: the pod is killed at once (no grace period)
  // and never started again.
  if (runtime.sandboxReady()) {
    if (std::string message = emptyDirEviction(pod); !message.empty()) {
      result.events.push_back({"Warning", "Evicted", message});
      kill(pod, 0);
      result.evicted = std::move(message);
      result.terminal = true;
      result.runtime = observe(pod);
      return result;
    }
  }

  ActionInputs inputs;
  inputs.crashBackoff = &crashBackoff_;
  inputs.clock = &clock_;
  inputs.unhealthy = unhealthy;
  for (const auto* list : {&pod.spec.initContainers, &pod.spec.containers}) {
    for (const auto& c : *list) inputs.hashes[c.name] = containerHash(c);
  }
  const PodActions actions = computePodActions(pod, runtime, inputs);
  result.waiting = actions.waiting;
  result.terminal = actions.terminal;

  if (actions.killPod) {
    kill(pod, gracePeriodOf(pod));
  }
  if (!actions.createSandbox && !actions.sandboxesToRemove.empty()) {
    retireSandboxes(pod, runtime, actions.sandboxesToRemove, false);
  }
  if (actions.terminal ||
      (actions.toStart.empty() && actions.toKill.empty() && !actions.createSandbox)) {
    // Nothing to start, but ConfigMap, Secret, token and downward API files follow their
    // sources on every sync, as upstream's volume manager refreshes them.
    if (!actions.terminal && runtime.sandboxReady()) {
      try {
        volumes_.setUp(pod, factsFor(runtime));
      } catch (const std::exception& e) {
        result.events.push_back({"Warning", "FailedMount", e.what()});
      }
    }
    // Unless the pod was just killed, the runtime is as read above: reading it again would only
    // cost the list and status calls (this is the path of every resync and PLEG-driven sync).
    result.runtime =
        actions.killPod ? readRuntimePod(runtime_, pod.metadata.uid) : std::move(runtime);
    fillTerminationMessages(pod, result.runtime);
    return result;
  }

  // Volumes first: no sandbox for a pod whose volumes cannot be set up.
  std::map<std::string, std::string> volumePaths;
  try {
    volumePaths = volumes_.setUp(pod, factsFor(runtime));
  } catch (const std::exception& e) {
    result.podError = e.what();
    result.events.push_back({"Warning", "FailedMount", e.what()});
    result.runtime = std::move(runtime);
    return result;
  }

  const QosClass qos = qosClassOf(pod.spec);
  std::string sandboxId = actions.sandboxId;
  uint32_t attempt = runtime.sandboxes.empty() ? 0 : runtime.sandboxes.front().metadata().attempt();
  std::optional<cri::v1::PodSandboxConfig> created;  // the config a new sandbox was made with
  if (actions.createSandbox) {
    attempt = actions.sandboxAttempt;
    if (!runtime.sandboxes.empty()) {
      result.events.push_back(
          {"Normal", "SandboxChanged", "Pod sandbox changed, it will be killed and re-created."});
      retireSandboxes(pod, runtime, actions.sandboxesToRemove, true);
    }
    cgroups_.create(pod.metadata.uid, qos);
    fs::create_directories(podLogDir(pod));
    try {
      created = sandboxFor(pod, attempt);
      sandboxId = runtime_.runPodSandbox(*created);
    } catch (const SandboxConfigError& e) {
      result.podError = std::string("Failed to create pod sandbox: ") + e.what();
      result.events.push_back({"Warning", "FailedCreatePodSandBox", result.podError});
      result.runtime = std::move(runtime);
      return result;
    } catch (const cri::Error& e) {
      result.podError = "Failed to create pod sandbox: " + e.runtimeMessage();
      result.events.push_back({"Warning", "FailedCreatePodSandBox", result.podError});
      result.runtime = readRuntimePod(runtime_, pod.metadata.uid);
      return result;
    }
    if (actions.killPod) {
      runtime = readRuntimePod(runtime_, pod.metadata.uid);
    } else {
      // Only the new sandbox changed since the pod was read: its status (the pod IP) is
      // enough, and saves listing the pod's sandboxes and containers again. It is the newest.
      runtime.sandboxes.insert(runtime.sandboxes.begin(),
                               runtime_.podSandboxStatus(sandboxId).status());
    }
  }
  // The pod IP is known from here on; containers, hooks and env all use it.
  const PodRuntimeFacts facts = factsFor(runtime);
  if (actions.createSandbox) {
    const auto hostname = podHostname(pod, node_.clusterDomain);
    std::ofstream(volumes_.podDir(pod.metadata.uid) / "etc-hosts")
        << etcHostsContent(pod, facts.podIPs, hostname.hostname, hostname.domain);
  }
  const auto sandbox = created ? std::move(*created) : sandboxFor(pod, attempt);

  std::vector<std::string> touched;  // containers this sync stopped or created
  for (const auto& victim : actions.toKill) {
    const auto* instance = runtime.latest(victim.name);
    if (instance != nullptr && instance->id() == victim.id) {
      result.events.push_back(
          {"Normal", "Killing", victim.reason, containerFieldPath(pod, victim.name)});
      touched.push_back(instance->id());
      stopContainer(pod, *instance, facts.podIP, gracePeriodOf(pod));
    }
  }
  for (const auto& which : actions.toStart) {
    const std::size_t before = result.events.size();
    std::string id = startContainer(pod, which, sandboxId, sandbox, volumePaths, facts, result);
    if (!id.empty()) touched.push_back(std::move(id));
    const auto& name = which.init ? pod.spec.initContainers.at(which.index).name
                                  : pod.spec.containers.at(which.index).name;
    for (std::size_t i = before; i < result.events.size(); ++i) {
      result.events[i].fieldPath = containerFieldPath(pod, name);
    }
  }
  if (actions.killPod) {
    result.runtime = readRuntimePod(runtime_, pod.metadata.uid);
  } else {
    // Only what this sync stopped or created is read again, not the whole pod: any other
    // change meanwhile is the PLEG's to report.
    result.runtime = std::move(runtime);
    refreshContainers(runtime_, result.runtime, touched, sandboxId);
  }
  fillTerminationMessages(pod, result.runtime);
  return result;
}

std::string PodSyncer::startContainer(const corev1::Pod& pod, const ContainerToStart& which,
                                      const std::string& sandboxId,
                                      const cri::v1::PodSandboxConfig& sandbox,
                                      const std::map<std::string, std::string>& volumePaths,
                                      const PodRuntimeFacts& facts, SyncResult& result) {
  const auto& spec =
      which.init ? pod.spec.initContainers.at(which.index) : pod.spec.containers.at(which.index);
  const std::string key = backoffKey(pod, spec.name);
  if (which.restartCount > 0) crashBackoff_.next(key);  // the next crash waits longer

  // Image, per pull policy.
  std::string imageId;
  std::optional<cri::v1::Image> image;  // its status, as ensureImage read it
  try {
    std::vector<std::string> pullSecrets;
    for (const auto& ref : pod.spec.imagePullSecrets) {
      if (auto data = config_.secret(pod.metadata.namespace_, ref.name)) {
        if (auto it = data->find(".dockerconfigjson"); it != data->end()) {
          pullSecrets.push_back(it->second);
        }
      }
    }
    const auto policy = pullPolicyFor(spec.image, spec.imagePullPolicy);
    const auto ensured = images_.ensureImage(pod.metadata.uid, spec.image, policy,
                                             credentialsFor(spec.image, pullSecrets), sandbox);
    imageId = ensured.id;
    image = ensured.image;
    if (ensured.pulled) {
      result.events.push_back({"Normal", "Pulling", "Pulling image \"" + spec.image + "\""});
      result.events.push_back({"Normal", "Pulled", pulledMessage(spec.image, ensured)});
    } else {
      result.events.push_back(
          {"Normal", "Pulled",
           "Container image \"" + spec.image + "\" already present on machine"});
    }
  } catch (const ImagePullError& e) {
    result.waiting[spec.name] = {e.reason(), e.what()};
    if (e.reason() == "ErrImagePull") {
      result.events.push_back({"Normal", "Pulling", "Pulling image \"" + spec.image + "\""});
    }
    const auto [type, reason] = pullFailureEvent(e);
    result.events.push_back({type, reason, e.what()});
    return "";
  } catch (const std::exception& e) {
    result.waiting[spec.name] = {"ErrImagePull", e.what()};
    return "";
  }

  std::string containerId;
  try {
    const EnvList env = containerEnv(pod, spec, facts, config_);
    ContainerOptions options;
    options.restartCount = which.restartCount;
    options.isInit = which.init;
    options.env = env;
    options.mounts = volumes_.mountsFor(pod, spec, volumePaths, env);
    options.containerHash = containerHash(spec);
    options.qos = qosClassOf(pod.spec);
    options.memoryCapacity = node_.memoryCapacity;
    options.seccompProfileRoot = node_.seccompProfileRoot.string();
    options.imageRef = imageId;
    // The image's user decides runAsNonRoot when the pod names no user.
    if (image) options.imageUser = imageUserOf(*image);
    const fs::path messageDir = volumes_.podDir(pod.metadata.uid) / "containers" / spec.name;
    fs::create_directories(messageDir);
    const fs::path messageFile = messageDir / std::to_string(which.restartCount);
    std::ofstream(messageFile).close();
    options.terminationMessageHostPath = messageFile.string();
    if (!pod.spec.hostNetwork) {
      options.etcHostsPath = (volumes_.podDir(pod.metadata.uid) / "etc-hosts").string();
    }
    const auto config = containerConfig(pod, spec, options);
    containerId = runtime_.createContainer(sandboxId, config, sandbox);
  } catch (const ContainerConfigError& e) {
    result.waiting[spec.name] = {"CreateContainerConfigError", e.what()};
    result.events.push_back({"Warning", "Failed", std::string("Error: ") + e.what()});
    return "";
  } catch (const cri::Error& e) {
    result.waiting[spec.name] = {"CreateContainerError", e.runtimeMessage()};
    result.events.push_back({"Warning", "Failed", "Error: " + e.runtimeMessage()});
    return "";
  }
  result.events.push_back({"Normal", "Created", "Created container " + spec.name});
  try {
    runtime_.startContainer(containerId);
  } catch (const cri::Error& e) {
    result.waiting[spec.name] = {"RunContainerError", e.runtimeMessage()};
    result.events.push_back({"Warning", "Failed", "Error: " + e.runtimeMessage()});
    return containerId;
  }
  result.events.push_back({"Normal", "Started", "Started container " + spec.name});

  if (spec.lifecycle && spec.lifecycle->postStart) {
    const std::string failure =
        runLifecycleHook(runtime_, *spec.lifecycle->postStart, spec, containerId, facts.podIP,
                         std::chrono::seconds(30));
    if (!failure.empty()) {
      result.events.push_back({"Warning", "FailedPostStartHook", failure});
      try {
        runtime_.stopContainer(containerId, gracePeriodOf(pod));
      } catch (const cri::Error& e) {
        spdlog::warn("pod {}: stopping {} after its postStart hook failed: {}", pod.metadata.name,
                     spec.name, e.what());
      }
    }
  }
  return containerId;
}

void PodSyncer::stopContainer(const corev1::Pod& pod, const RuntimeContainer& container,
                              const std::string& podIP, int64_t gracePeriodSeconds) {
  const auto start = clock_.now();
  const corev1::Container* spec = findContainer(pod, container.name);
  if (container.running() && spec != nullptr && spec->lifecycle && spec->lifecycle->preStop) {
    const std::string failure =
        runLifecycleHook(runtime_, *spec->lifecycle->preStop, *spec, container.id(), podIP,
                         std::chrono::seconds(gracePeriodSeconds));
    if (!failure.empty()) {
      spdlog::warn("pod {}: preStop hook of {} failed: {}", pod.metadata.name, container.name,
                   failure);
    }
  }
  // What is left of the grace period after the hook goes to SIGTERM; the
  // runtime sends SIGKILL when it runs out.
  const auto used = std::chrono::duration_cast<std::chrono::seconds>(clock_.now() - start).count();
  const int64_t remaining = std::max<int64_t>(gracePeriodSeconds - used, 2);
  try {
    runtime_.stopContainer(container.id(), remaining);
  } catch (const cri::Error& e) {
    if (!e.isNotFound()) throw;
  }
}

void PodSyncer::kill(const corev1::Pod& pod, int64_t gracePeriodSeconds) {
  RuntimePod runtime = readRuntimePod(runtime_, pod.metadata.uid);
  const std::string podIP = factsFor(runtime).podIP;
  std::vector<const RuntimeContainer*> live;
  for (const auto& c : runtime.containers) {
    if (c.running() || c.created()) live.push_back(&c);
  }
  const auto stopOne = [this, &pod, &podIP, gracePeriodSeconds](const RuntimeContainer& c) {
    try {
      stopContainer(pod, c, podIP, gracePeriodSeconds);
    } catch (const std::exception& e) {
      spdlog::warn("pod {}: stopping {}: {}", pod.metadata.name, c.name, e.what());
    }
  };
  if (live.size() == 1) {
    stopOne(*live.front());  // no thread to start for the common one-container pod
  } else {
    // Containers stop in parallel, as upstream does, so one slow container does
    // not eat the others' grace period.
    std::vector<std::future<void>> stops;
    stops.reserve(live.size());
    for (const auto* c : live) stops.push_back(std::async(std::launch::async, stopOne, *c));
    for (auto& stop : stops) stop.get();
  }
  for (const auto& sandbox : runtime.sandboxes) {
    if (sandbox.state() != cri::v1::SANDBOX_READY) continue;
    try {
      runtime_.stopPodSandbox(sandbox.id());
    } catch (const cri::Error& e) {
      spdlog::warn("pod {}: stopping sandbox: {}", pod.metadata.name, e.what());
    }
  }
}

void PodSyncer::retireSandboxes(const corev1::Pod& pod, const RuntimePod& runtime,
                                const std::vector<std::string>& toRemove, bool stopOthers) {
  // Stopping a not-ready sandbox releases what its dead pause process still holds (the
  // network); removing it releases its name. The one kept holds the newest containers.
  for (const auto& sandbox : runtime.sandboxes) {
    if (sandbox.state() == cri::v1::SANDBOX_READY) continue;
    const bool remove = std::find(toRemove.begin(), toRemove.end(), sandbox.id()) != toRemove.end();
    if (!remove && !stopOthers) continue;
    try {
      runtime_.stopPodSandbox(sandbox.id());
      if (remove) runtime_.removePodSandbox(sandbox.id());
    } catch (const cri::Error& e) {
      // Retried with the next sandbox; the new one's attempt differs either way.
      spdlog::warn("pod {}: {} sandbox {}: {}", pod.metadata.name, remove ? "removing" : "stopping",
                   sandbox.id(), e.what());
    }
  }
}

namespace {
std::string annotation(const RuntimeContainer& c, const char* key) {
  const auto& map = c.status.annotations();
  auto it = map.find(key);
  return it == map.end() ? "" : it->second;
}

// What a container's annotations tell of its spec: name, ports and preStop.
// Rebuilt through the JSON codec so that the handler is decoded exactly as a
// manifest's would be.
corev1::Container containerFromAnnotations(const RuntimeContainer& c) {
  corev1::Container plain;
  plain.name = c.name;
  // Container names are DNS labels; anything else is not worth quoting.
  const bool dnsLabel = std::all_of(c.name.begin(), c.name.end(), [](char ch) {
    return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-';
  });
  if (!dnsLabel) return plain;
  std::string json = "{\"name\":\"";
  json.append(c.name).append("\"");
  if (const auto ports = annotation(c, labels::kContainerPorts); !ports.empty()) {
    json.append(",\"ports\":").append(ports);
  }
  if (const auto preStop = annotation(c, labels::kPreStopHandler); !preStop.empty()) {
    json.append(",\"lifecycle\":{\"preStop\":").append(preStop).append("}");
  }
  json.append("}");
  try {
    return api::decodeJson<corev1::Container>(json);
  } catch (const std::exception& e) {
    spdlog::warn("container {}: unreadable spec annotations, stopping without preStop: {}", c.id(),
                 e.what());
    return plain;
  }
}
}  // namespace

int64_t PodSyncer::killOrphan(const std::string& podUid) {
  const RuntimePod runtime = readRuntimePod(runtime_, podUid);
  corev1::Pod pod;
  pod.metadata.uid = podUid;
  if (const auto* sandbox = runtime.newestSandbox()) {
    pod.metadata.name = sandbox->metadata().name();
    pod.metadata.namespace_ = sandbox->metadata().namespace_();
  }
  // The longest grace period any of its running containers was given (they
  // all carry the pod's); upstream's default when none says.
  std::optional<int64_t> grace;
  std::set<std::string> seen;
  for (const auto& c : runtime.containers) {
    if (!c.running() && !c.created()) continue;
    for (const char* key : {labels::kDeletionGracePeriod, labels::kGracePeriod}) {
      const std::string value = annotation(c, key);
      if (value.empty()) continue;
      try {
        grace = std::max<int64_t>(grace.value_or(0), std::stoll(value));
      } catch (const std::exception&) {
        spdlog::warn("container {}: bad {} annotation \"{}\"", c.id(), key, value);
      }
      break;
    }
    if (!seen.insert(c.name).second) continue;
    auto& list = c.init ? pod.spec.initContainers : pod.spec.containers;
    list.push_back(containerFromAnnotations(c));
  }
  const int64_t period = grace.value_or(30);
  kill(pod, period);
  return period;
}

void PodSyncer::remove(const std::string& podUid, const std::string& logDirName) {
  RuntimePod runtime = readRuntimePod(runtime_, podUid);
  for (const auto& c : runtime.containers) {
    try {
      if (c.running()) runtime_.stopContainer(c.id(), 0);
      runtime_.removeContainer(c.id());
    } catch (const cri::Error& e) {
      spdlog::warn("pod {}: removing container {}: {}", podUid, c.id(), e.what());
    }
  }
  for (const auto& sandbox : runtime.sandboxes) {
    try {
      runtime_.stopPodSandbox(sandbox.id());
      runtime_.removePodSandbox(sandbox.id());
    } catch (const cri::Error& e) {
      spdlog::warn("pod {}: removing sandbox {}: {}", podUid, sandbox.id(), e.what());
    }
  }
  volumes_.tearDown(podUid);
  for (const auto qos : {QosClass::kGuaranteed, QosClass::kBurstable, QosClass::kBestEffort}) {
    cgroups_.remove(podUid, qos);
  }
  std::error_code ec;
  if (!logDirName.empty()) fs::remove_all(node_.podLogsRoot / logDirName, ec);
}

void PodSyncer::fillTerminationMessages(const corev1::Pod& pod, RuntimePod& runtime) const {
  for (auto& c : runtime.containers) {
    if (!c.exited() || !c.status.message().empty()) continue;
    const fs::path file =
        volumes_.podDir(pod.metadata.uid) / "containers" / c.name / std::to_string(c.restartCount);
    std::string message = readHead(file, kMaxTerminationMessage);
    const corev1::Container* spec = findContainer(pod, c.name);
    // FallbackToLogsOnError: the log's tail explains a failure that wrote no message.
    if (message.empty() && c.status.exit_code() != 0 && spec != nullptr &&
        spec->terminationMessagePolicy == "FallbackToLogsOnError") {
      std::ifstream log(c.status.log_path());
      std::vector<std::string> lines;
      for (std::string line; std::getline(log, line);) {
        // CRI log lines: "<time> <stream> <tag> <text>"
        std::istringstream fields(line);
        std::string time, stream, tag, text;
        fields >> time >> stream >> tag;
        std::getline(fields, text);
        lines.push_back(text.empty() ? text : text.substr(1));
        if (lines.size() > 80) lines.erase(lines.begin());
      }
      for (const auto& line : lines) message += line + "\n";
      if (message.size() > 2048) message = message.substr(message.size() - 2048);
    }
    c.status.set_message(message);
  }
}

}  // namespace kite::kubelet
