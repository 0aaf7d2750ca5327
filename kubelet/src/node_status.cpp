#include "kite/kubelet/node_status.h"

#include <sys/statvfs.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "kite/api/quantity.h"
#include "kite/client/client.h"
#include "kite/client/errors.h"
#include "kite/kubelet/node_info.h"

namespace kite::kubelet {

namespace {

namespace v1 = api::core::v1;

std::string readFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string trim(const std::string& s) {
  const auto first = s.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return "";
  const auto last = s.find_last_not_of(" \t\r\n");
  return s.substr(first, last - first + 1);
}

int64_t readInt(const std::string& path) {
  try {
    return std::stoll(trim(readFile(path)));
  } catch (const std::exception&) {
    return 0;
  }
}

// Online CPUs, capped by a CPU quota on the cgroup the kubelet runs in (a kubelet in a container
// must not offer the whole host).
int64_t cpuMillis() {
  int64_t millis = machineMilliCpu();
  std::istringstream max(readFile("/sys/fs/cgroup/cpu.max"));
  std::string quota;
  int64_t period = 0;
  if (max >> quota >> period && quota != "max" && period > 0) {
    try {
      const int64_t limit = std::stoll(quota) * 1000 / period;
      if (limit > 0 && limit < millis) millis = limit;
    } catch (const std::exception&) {
      // not a number: no quota
    }
  }
  return millis;
}

// Processes and threads alive, each holding a PID.
int64_t pidsInUse() {
  std::istringstream loadavg(readFile("/proc/loadavg"));
  std::string a, b, c, running;
  if (loadavg >> a >> b >> c >> running) {
    const auto slash = running.find('/');
    if (slash != std::string::npos) {
      try {
        return std::stoll(running.substr(slash + 1));
      } catch (const std::exception&) {
        return 0;
      }
    }
  }
  return 0;
}

v1::NodeCondition condition(const std::string& type, bool bad, const std::string& goodReason,
                            const std::string& goodMessage, const std::string& badReason,
                            const std::string& badMessage, bool trueIsBad) {
  v1::NodeCondition out;
  out.type = type;
  const bool isTrue = trueIsBad ? bad : !bad;
  out.status = isTrue ? "True" : "False";
  out.reason = bad ? badReason : goodReason;
  out.message = bad ? badMessage : goodMessage;
  return out;
}

}  // namespace

std::string goArch(std::string_view machine) {
  if (machine == "x86_64") return "amd64";
  if (machine == "aarch64" || machine == "arm64") return "arm64";
  if (machine.starts_with("armv")) return "arm";
  if (machine == "i386" || machine == "i686") return "386";
  if (machine == "ppc64le") return "ppc64le";
  if (machine == "s390x") return "s390x";
  if (machine == "riscv64") return "riscv64";
  return std::string(machine);
}

std::string prettyName(std::string_view osRelease) {
  std::istringstream in{std::string(osRelease)};
  std::string line;
  while (std::getline(in, line)) {
    if (!line.starts_with("PRETTY_NAME=")) continue;
    std::string value = trim(line.substr(12));
    if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') &&
        value.back() == value.front()) {
      value = value.substr(1, value.size() - 2);
    }
    return value;
  }
  return "";
}

int64_t memAvailableFromMeminfo(std::string_view meminfo) {
  std::istringstream in{std::string(meminfo)};
  std::string key;
  int64_t kib = 0;
  std::string unit;
  int64_t free = -1;
  while (in >> key >> kib) {
    if (key == "MemAvailable:") return kib * 1024;
    if (key == "MemFree:") free = kib * 1024;
    std::getline(in, unit);  // the unit, when there is one
  }
  return free < 0 ? 0 : free;
}

MachineSnapshot readMachine(const NodeStatusOptions& options) {
  MachineSnapshot m;
  m.milliCpu = cpuMillis();
  m.memoryCapacityBytes = machineMemoryBytes();
  m.memoryAvailableBytes = memAvailableFromMeminfo(readFile("/proc/meminfo"));
  struct statvfs fs {};
  std::error_code ec;
  std::filesystem::create_directories(options.rootDir, ec);
  if (::statvfs(options.rootDir.c_str(), &fs) == 0) {
    m.nodefsCapacityBytes = static_cast<int64_t>(fs.f_blocks) * static_cast<int64_t>(fs.f_frsize);
    m.nodefsAvailableBytes = static_cast<int64_t>(fs.f_bavail) * static_cast<int64_t>(fs.f_frsize);
  }
  m.pidMax = readInt("/proc/sys/kernel/pid_max");
  m.pidsInUse = pidsInUse();
  m.internalIP = options.nodeIP.empty() ? defaultNodeIP() : options.nodeIP;
  struct utsname u {};
  if (::uname(&u) == 0) {
    m.kernelVersion = u.release;
    m.architecture = goArch(u.machine);
  }
  m.osImage = prettyName(readFile("/etc/os-release"));
  m.machineID = trim(readFile("/etc/machine-id"));
  m.bootID = trim(readFile("/proc/sys/kernel/random/boot_id"));
  return m;
}

v1::Node newNode(const NodeStatusOptions& options, const MachineSnapshot& machine, api::Time now) {
  v1::Node node;
  node.apiVersion = "v1";
  node.kind = "Node";
  node.metadata.name = options.nodeName;
  reconcileLabels(node, options, machine);
  node.status = computeStatus(options, machine, {}, now);
  return node;
}

bool reconcileLabels(v1::Node& node, const NodeStatusOptions& options,
                     const MachineSnapshot& machine) {
  bool changed = false;
  const auto set = [&](const std::string& key, const std::string& value) {
    auto& slot = node.metadata.labels[key];
    if (slot != value) {
      slot = value;
      changed = true;
    }
  };
  set("kubernetes.io/hostname", options.hostname.empty() ? options.nodeName : options.hostname);
  set("kubernetes.io/os", "linux");
  set("kubernetes.io/arch", machine.architecture);
  return changed;
}

v1::NodeStatus computeStatus(const NodeStatusOptions& options, const MachineSnapshot& machine,
                             const v1::NodeStatus& previous, api::Time now) {
  v1::NodeStatus s;
  s.capacity["cpu"] = api::Quantity::fromMilli(machine.milliCpu);
  s.capacity["memory"] =
      api::Quantity::fromInt(machine.memoryCapacityBytes, api::Quantity::Format::BinarySI);
  s.capacity["pods"] = api::Quantity::fromInt(options.maxPods);
  s.capacity["ephemeral-storage"] =
      api::Quantity::fromInt(machine.nodefsCapacityBytes, api::Quantity::Format::BinarySI);
  // Nothing is reserved for the system yet: allocatable is the capacity.
  s.allocatable = s.capacity;

  if (!machine.internalIP.empty()) s.addresses.push_back({"InternalIP", machine.internalIP});
  s.addresses.push_back(
      {"Hostname", options.hostname.empty() ? options.nodeName : options.hostname});
  s.daemonEndpoints.kubeletEndpoint.Port = options.kubeletPort;

  s.nodeInfo.machineID = machine.machineID;
  s.nodeInfo.systemUUID = previous.nodeInfo.systemUUID;
  s.nodeInfo.bootID = machine.bootID;
  s.nodeInfo.kernelVersion = machine.kernelVersion;
  s.nodeInfo.osImage = machine.osImage;
  s.nodeInfo.containerRuntimeVersion = machine.containerRuntimeVersion;
  s.nodeInfo.kubeletVersion = std::string(kKubeletVersion);
  s.nodeInfo.operatingSystem = "linux";
  s.nodeInfo.architecture = machine.architecture;

  // Each signal on its own (pressureOf names the first crossed one only).
  const bool memoryPressure =
      pressureOf({.memoryAvailableBytes = machine.memoryAvailableBytes}, options.eviction)
          .has_value();
  const bool diskPressure =
      pressureOf({.memoryAvailableBytes = options.eviction.memoryAvailableBytes,
                  .nodefsAvailableBytes = machine.nodefsAvailableBytes,
                  .nodefsCapacityBytes = machine.nodefsCapacityBytes},
                 options.eviction)
          .has_value();
  const bool pidPressure =
      machine.pidMax > 0 && static_cast<double>(machine.pidMax - machine.pidsInUse) <
                                kPidAvailableFraction * static_cast<double>(machine.pidMax);

  s.conditions.push_back(condition("MemoryPressure", memoryPressure, "KubeletHasSufficientMemory",
                                   "kubelet has sufficient memory available",
                                   "KubeletHasInsufficientMemory",
                                   "kubelet has insufficient memory available", true));
  s.conditions.push_back(condition("DiskPressure", diskPressure, "KubeletHasNoDiskPressure",
                                   "kubelet has no disk pressure", "KubeletHasDiskPressure",
                                   "kubelet has disk pressure", true));
  s.conditions.push_back(condition(
      "PIDPressure", pidPressure, "KubeletHasSufficientPID", "kubelet has sufficient PID available",
      "KubeletHasInsufficientPID", "kubelet has insufficient PID available", true));
  s.conditions.push_back(condition("Ready", !machine.notReadyMessage.empty(), "KubeletReady",
                                   "kubelet is posting ready status", "KubeletNotReady",
                                   machine.notReadyMessage, false));
  for (auto& c : s.conditions) {
    c.lastHeartbeatTime = now;
    c.lastTransitionTime = now;
    for (const auto& old : previous.conditions) {
      if (old.type == c.type && old.status == c.status && !old.lastTransitionTime.isZero()) {
        c.lastTransitionTime = old.lastTransitionTime;
      }
    }
  }
  return s;
}

bool sameStatusIgnoringHeartbeat(const v1::NodeStatus& a, const v1::NodeStatus& b) {
  auto x = a;
  auto y = b;
  for (auto& c : x.conditions) c.lastHeartbeatTime = {};
  for (auto& c : y.conditions) c.lastHeartbeatTime = {};
  return x.capacity == y.capacity && x.allocatable == y.allocatable &&
         x.conditions == y.conditions && x.addresses == y.addresses &&
         x.daemonEndpoints == y.daemonEndpoints && x.nodeInfo == y.nodeInfo;
}

NodeStatusManager::NodeStatusManager(client::Client& client, const base::Clock& clock,
                                     NodeStatusOptions options, MachineReader reader)
    : client_(client), clock_(clock), options_(std::move(options)), reader_(std::move(reader)) {}

NodeStatusManager::~NodeStatusManager() { stop(); }

v1::Node NodeStatusManager::registerNode() {
  const auto machine = reader_();
  const api::Time now(clock_.wallNow());
  v1::Node node;
  try {
    node = client_.create(newNode(options_, machine, now));
    spdlog::info("registered node {}", options_.nodeName);
  } catch (const client::ApiError& e) {
    if (!e.isAlreadyExists()) throw;
    // Adopt the Node a previous run (or an administrator) created; labels the kubelet owns are
    // set again, the rest (taints, other labels) is left alone.
    node = client_.get<v1::Node>("", options_.nodeName);
    if (reconcileLabels(node, options_, machine)) node = client_.update(node);
    spdlog::info("adopted existing node {}", options_.nodeName);
  }
  // The create's status is dropped by the API server (status is a subresource): write it.
  node.status = computeStatus(options_, machine, node.status, now);
  node = client_.updateStatus(node);
  std::lock_guard lock(mutex_);
  node_ = node;
  registered_ = true;
  lastWrite_ = clock_.now();
  return node;
}

bool NodeStatusManager::syncOnce() {
  v1::Node current;
  std::optional<base::Clock::Monotonic> lastWrite;
  {
    std::lock_guard lock(mutex_);
    current = node_;
    lastWrite = lastWrite_;
  }
  const auto machine = reader_();
  const api::Time now(clock_.wallNow());
  auto status = computeStatus(options_, machine, current.status, now);
  const bool due = !lastWrite || clock_.now() - *lastWrite >= options_.reportFrequency;
  if (!due && sameStatusIgnoringHeartbeat(status, current.status)) return false;
  current.status = std::move(status);
  v1::Node written;
  try {
    written = client_.updateStatus(current);
  } catch (const client::ApiError& e) {
    if (!e.isConflict() && !e.isNotFound()) throw;
    if (e.isNotFound()) {
      // Someone deleted the Node: register again.
      registerNode();
      return true;
    }
    // Someone else wrote the Node: start from the server's copy.
    auto fresh = client_.get<v1::Node>("", options_.nodeName);
    fresh.status = computeStatus(options_, machine, fresh.status, now);
    written = client_.updateStatus(fresh);
  }
  std::lock_guard lock(mutex_);
  node_ = written;
  lastWrite_ = clock_.now();
  return true;
}

void NodeStatusManager::start() {
  if (thread_.joinable()) return;
  {
    std::lock_guard lock(mutex_);
    stopping_ = false;
  }
  thread_ = std::thread([this] { run(); });
}

void NodeStatusManager::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

v1::Node NodeStatusManager::node() const {
  std::lock_guard lock(mutex_);
  return node_;
}

void NodeStatusManager::notifyPodCidrs() {
  std::vector<std::string> cidrs;
  {
    std::lock_guard lock(mutex_);
    if (!registered_) return;
    cidrs = node_.spec.podCIDRs;
  }
  if (cidrs.empty()) {
    // Status writes are minutes apart when nothing changes, so the copy they return may not
    // have the CIDR the controller assigned since: read the Node until it has one.
    const auto fresh = client_.get<v1::Node>("", options_.nodeName);
    cidrs = fresh.spec.podCIDRs;
    if (cidrs.empty() && !fresh.spec.podCIDR.empty()) cidrs = {fresh.spec.podCIDR};
    std::lock_guard lock(mutex_);
    node_.spec = fresh.spec;
  }
  if (cidrs.empty() || cidrs == sentPodCidrs_) return;
  onPodCidrs_(cidrs);
  std::string joined;
  for (const auto& cidr : cidrs) joined += (joined.empty() ? "" : ",") + cidr;
  spdlog::info("node {}: pod CIDRs {} handed to the runtime", options_.nodeName, joined);
  sentPodCidrs_ = cidrs;
}

void NodeStatusManager::run() {
  for (;;) {
    bool registered = false;
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return;
      registered = registered_;
    }
    try {
      if (!registered) {
        const auto node = registerNode();
        if (onRegistered_) onRegistered_(node);
      } else {
        syncOnce();
      }
      if (onPodCidrs_) notifyPodCidrs();
    } catch (const std::exception& e) {
      spdlog::warn("node {}: {}", options_.nodeName, e.what());
    }
    std::unique_lock lock(mutex_);
    wake_.wait_for(lock, options_.checkFrequency, [this] { return stopping_; });
  }
}

}  // namespace kite::kubelet
