#include "fake_runtime.h"

#include <algorithm>
#include <numeric>

namespace kite::testing {

namespace {
constexpr const char* kEndpoint = "fake://runtime";

template <class Labels>
bool matchesSelector(const Labels& labels,
                     const google::protobuf::Map<std::string, std::string>& selector) {
  return std::all_of(selector.begin(), selector.end(), [&](const auto& kv) {
    auto it = labels.find(kv.first);
    return it != labels.end() && it->second == kv.second;
  });
}

// Image references as a runtime normalizes them: "busybox" means
// "docker.io/library/busybox:latest".
std::string normalize(const std::string& reference) {
  std::string ref = reference;
  const auto slash = ref.find('/');
  const bool hasDomain = slash != std::string::npos &&
                         (ref.substr(0, slash).find_first_of(".:") != std::string::npos ||
                          ref.substr(0, slash) == "localhost");
  if (!hasDomain) {
    ref = "docker.io/" + std::string(slash == std::string::npos ? "library/" : "") + ref;
  }
  const auto lastSlash = ref.rfind('/');
  if (ref.find('@') == std::string::npos && ref.find(':', lastSlash) == std::string::npos) {
    ref += ":latest";
  }
  return ref;
}
}  // namespace

FakeRuntime::FakeRuntime() = default;

void FakeRuntime::addRegistryImage(const std::string& reference, uint64_t size) {
  std::lock_guard lock(mutex_);
  registry_[normalize(reference)] = size;
}

void FakeRuntime::addLocalImage(const std::string& reference) {
  std::lock_guard lock(mutex_);
  v1::Image image;
  image.set_id("sha256:" + std::to_string(std::hash<std::string>{}(normalize(reference))));
  image.add_repo_tags(normalize(reference));
  image.set_size(1024);
  images_[image.id()] = image;
}

void FakeRuntime::failNext(const std::string& method, cri::ErrorCode code,
                           const std::string& message) {
  std::lock_guard lock(mutex_);
  failures_[method] = {code, message};
}

void FakeRuntime::failNextSandboxKeepingName(const std::string& message) {
  std::lock_guard lock(mutex_);
  sandboxLeftBehind_ = message;
}

void FakeRuntime::killSandbox(const std::string& podSandboxId) {
  std::lock_guard lock(mutex_);
  sandbox("killSandbox", podSandboxId).info.set_state(v1::SANDBOX_NOTREADY);
}

void FakeRuntime::exitContainer(const std::string& containerId, int32_t exitCode,
                                const std::string& reason) {
  std::lock_guard lock(mutex_);
  auto& c = container("exitContainer", containerId);
  c.status.set_state(v1::CONTAINER_EXITED);
  c.status.set_exit_code(exitCode);
  c.status.set_finished_at(now());
  c.status.set_reason(reason.empty() ? (exitCode == 0 ? "Completed" : "Error") : reason);
}

void FakeRuntime::setExecResult(const std::string& commandLine, cri::ExecResult result) {
  std::lock_guard lock(mutex_);
  execResults_[commandLine] = std::move(result);
}

std::vector<std::string> FakeRuntime::calls() const {
  std::lock_guard lock(mutex_);
  return calls_;
}

void FakeRuntime::advanceClock(std::chrono::nanoseconds by) {
  std::lock_guard lock(mutex_);
  clock_ += by;
}

void FakeRuntime::record(const std::string& method) {
  calls_.push_back(method);
  if (auto it = failures_.find(method); it != failures_.end()) {
    auto [code, message] = it->second;
    failures_.erase(it);
    throw cri::Error(method, kEndpoint, code, message);
  }
}

void FakeRuntime::notFound(const std::string& method, const std::string& what) const {
  throw cri::Error(method, kEndpoint, cri::ErrorCode::kNotFound, what + " not found");
}

FakeRuntime::Sandbox& FakeRuntime::sandbox(const std::string& method, const std::string& id) {
  auto it = sandboxes_.find(id);
  if (it == sandboxes_.end()) notFound(method, "pod sandbox \"" + id + "\"");
  return it->second;
}

FakeRuntime::Container& FakeRuntime::container(const std::string& method, const std::string& id) {
  auto it = containers_.find(id);
  if (it == containers_.end()) notFound(method, "container \"" + id + "\"");
  return it->second;
}

const v1::Image* FakeRuntime::findImage(const std::string& reference) const {
  const std::string wanted = normalize(reference);
  for (const auto& [id, image] : images_) {
    if (id == reference) return &image;
    for (const auto& tag : image.repo_tags()) {
      if (tag == wanted) return &image;
    }
  }
  return nullptr;
}

std::string FakeRuntime::nextId() {
  char buffer[17];
  std::snprintf(buffer, sizeof buffer, "%016llx", static_cast<unsigned long long>(++counter_));
  return std::string(buffer) + std::string(48, '0');
}

v1::VersionResponse FakeRuntime::version() {
  std::lock_guard lock(mutex_);
  record("Version");
  v1::VersionResponse response;
  response.set_version("0.1.0");
  response.set_runtime_name("fake");
  response.set_runtime_version("1.0.0");
  response.set_runtime_api_version("v1");
  return response;
}

v1::StatusResponse FakeRuntime::status(bool /*verbose*/) {
  std::lock_guard lock(mutex_);
  record("Status");
  v1::StatusResponse response;
  for (const char* type : {"RuntimeReady", "NetworkReady"}) {
    auto* condition = response.mutable_status()->add_conditions();
    condition->set_type(type);
    condition->set_status(true);
  }
  return response;
}

void FakeRuntime::onRunPodSandbox(std::function<void(const std::string&)> hook) {
  std::lock_guard lock(mutex_);
  runPodSandboxHook_ = std::move(hook);
}

std::string FakeRuntime::runPodSandbox(const v1::PodSandboxConfig& config,
                                       const std::string& runtimeHandler) {
  std::function<void(const std::string&)> hook;
  {
    std::lock_guard lock(mutex_);
    hook = runPodSandboxHook_;
  }
  if (hook) hook(config.metadata().name());
  std::lock_guard lock(mutex_);
  record("RunPodSandbox");
  // A real runtime refuses a second sandbox with the same name+namespace+uid+attempt.
  for (const auto& [id, existing] : sandboxes_) {
    const auto& m = existing.info.metadata();
    if (m.name() == config.metadata().name() && m.namespace_() == config.metadata().namespace_() &&
        m.uid() == config.metadata().uid() && m.attempt() == config.metadata().attempt()) {
      throw cri::Error("RunPodSandbox", kEndpoint, cri::ErrorCode::kAlreadyExists,
                       "sandbox name is reserved for " + id);
    }
  }
  Sandbox sandbox;
  std::string id = nextId();
  sandbox.info.set_id(id);
  *sandbox.info.mutable_metadata() = config.metadata();
  sandbox.info.set_state(v1::SANDBOX_READY);
  sandbox.info.set_created_at(now());
  if (sandboxLeftBehind_) {
    sandbox.info.set_state(v1::SANDBOX_NOTREADY);
    sandbox.info.set_created_at(0);
  }
  *sandbox.info.mutable_labels() = config.labels();
  *sandbox.info.mutable_annotations() = config.annotations();
  sandbox.info.set_runtime_handler(runtimeHandler);
  sandbox.config = config;
  sandbox.ip = "10.88.0." + std::to_string(2 + sandboxes_.size() % 250);
  sandboxes_[id] = std::move(sandbox);
  if (sandboxLeftBehind_) {
    const std::string message = *sandboxLeftBehind_;
    sandboxLeftBehind_.reset();
    throw cri::Error("RunPodSandbox", kEndpoint, cri::ErrorCode::kUnknown, message);
  }
  return id;
}

void FakeRuntime::stopPodSandbox(const std::string& podSandboxId) {
  std::lock_guard lock(mutex_);
  record("StopPodSandbox");
  auto it = sandboxes_.find(podSandboxId);
  if (it == sandboxes_.end()) return;  // idempotent, as the CRI requires
  it->second.info.set_state(v1::SANDBOX_NOTREADY);
  for (auto& [id, c] : containers_) {
    if (c.podSandboxId == podSandboxId && c.status.state() == v1::CONTAINER_RUNNING) {
      c.status.set_state(v1::CONTAINER_EXITED);
      c.status.set_exit_code(137);
      c.status.set_finished_at(now());
      c.status.set_reason("Error");
    }
  }
}

void FakeRuntime::removePodSandbox(const std::string& podSandboxId) {
  std::lock_guard lock(mutex_);
  record("RemovePodSandbox");
  auto it = sandboxes_.find(podSandboxId);
  if (it == sandboxes_.end()) return;  // idempotent
  if (it->second.info.state() == v1::SANDBOX_READY) {
    throw cri::Error("RemovePodSandbox", kEndpoint, cri::ErrorCode::kFailedPrecondition,
                     "sandbox " + podSandboxId + " is still running, stop it first");
  }
  std::erase_if(containers_,
                [&](const auto& kv) { return kv.second.podSandboxId == podSandboxId; });
  sandboxes_.erase(it);
}

v1::PodSandboxStatusResponse FakeRuntime::podSandboxStatus(const std::string& podSandboxId,
                                                           bool /*verbose*/) {
  std::lock_guard lock(mutex_);
  record("PodSandboxStatus");
  const auto& s = sandbox("PodSandboxStatus", podSandboxId);
  v1::PodSandboxStatusResponse response;
  auto* status = response.mutable_status();
  status->set_id(s.info.id());
  *status->mutable_metadata() = s.info.metadata();
  status->set_state(s.info.state());
  status->set_created_at(s.info.created_at());
  if (s.info.state() == v1::SANDBOX_READY) status->mutable_network()->set_ip(s.ip);
  *status->mutable_labels() = s.info.labels();
  *status->mutable_annotations() = s.info.annotations();
  return response;
}

std::vector<v1::PodSandbox> FakeRuntime::listPodSandbox(const v1::PodSandboxFilter& filter) {
  std::lock_guard lock(mutex_);
  record("ListPodSandbox");
  std::vector<v1::PodSandbox> out;
  for (const auto& [id, s] : sandboxes_) {
    if (!filter.id().empty() && id != filter.id()) continue;
    if (filter.has_state() && s.info.state() != filter.state().state()) continue;
    if (!matchesSelector(s.info.labels(), filter.label_selector())) continue;
    out.push_back(s.info);
  }
  return out;
}

std::string FakeRuntime::createContainer(const std::string& podSandboxId,
                                         const v1::ContainerConfig& config,
                                         const v1::PodSandboxConfig& /*sandboxConfig*/) {
  std::lock_guard lock(mutex_);
  record("CreateContainer");
  const auto& s = sandbox("CreateContainer", podSandboxId);
  if (s.info.state() != v1::SANDBOX_READY) {
    throw cri::Error("CreateContainer", kEndpoint, cri::ErrorCode::kFailedPrecondition,
                     "sandbox " + podSandboxId + " is not ready");
  }
  const v1::Image* image = findImage(config.image().image());
  if (image == nullptr) {
    notFound("CreateContainer", "image \"" + config.image().image() + "\"");
  }
  Container c;
  std::string id = nextId();
  c.podSandboxId = podSandboxId;
  c.config = config;
  c.status.set_id(id);
  *c.status.mutable_metadata() = config.metadata();
  c.status.set_state(v1::CONTAINER_CREATED);
  c.status.set_created_at(now());
  c.status.mutable_image()->set_image(config.image().image());
  c.status.set_image_ref(image->id());
  *c.status.mutable_labels() = config.labels();
  *c.status.mutable_annotations() = config.annotations();
  c.status.set_log_path(config.log_path());
  containers_[id] = std::move(c);
  return id;
}

void FakeRuntime::startContainer(const std::string& containerId) {
  std::lock_guard lock(mutex_);
  record("StartContainer");
  auto& c = container("StartContainer", containerId);
  if (c.status.state() != v1::CONTAINER_CREATED) {
    throw cri::Error("StartContainer", kEndpoint, cri::ErrorCode::kFailedPrecondition,
                     "container " + containerId + " is not in created state");
  }
  c.status.set_state(v1::CONTAINER_RUNNING);
  c.status.set_started_at(now());
}

void FakeRuntime::stopContainer(const std::string& containerId, int64_t /*timeoutSeconds*/) {
  std::lock_guard lock(mutex_);
  record("StopContainer");
  auto& c = container("StopContainer", containerId);
  if (c.status.state() == v1::CONTAINER_RUNNING) {
    c.status.set_state(v1::CONTAINER_EXITED);
    c.status.set_exit_code(137);
    c.status.set_finished_at(now());
    c.status.set_reason("Error");
  }
}

void FakeRuntime::removeContainer(const std::string& containerId) {
  std::lock_guard lock(mutex_);
  record("RemoveContainer");
  auto it = containers_.find(containerId);
  if (it == containers_.end()) return;  // idempotent
  if (it->second.status.state() == v1::CONTAINER_RUNNING) {
    throw cri::Error("RemoveContainer", kEndpoint, cri::ErrorCode::kFailedPrecondition,
                     "container " + containerId + " is running, stop it first");
  }
  containers_.erase(it);
}

std::vector<v1::Container> FakeRuntime::listContainers(const v1::ContainerFilter& filter) {
  std::lock_guard lock(mutex_);
  record("ListContainers");
  std::vector<v1::Container> out;
  for (const auto& [id, c] : containers_) {
    if (!filter.id().empty() && id != filter.id()) continue;
    if (!filter.pod_sandbox_id().empty() && c.podSandboxId != filter.pod_sandbox_id()) continue;
    if (filter.has_state() && c.status.state() != filter.state().state()) continue;
    if (!matchesSelector(c.status.labels(), filter.label_selector())) continue;
    v1::Container item;
    item.set_id(id);
    item.set_pod_sandbox_id(c.podSandboxId);
    *item.mutable_metadata() = c.status.metadata();
    *item.mutable_image() = c.status.image();
    item.set_image_ref(c.status.image_ref());
    item.set_state(c.status.state());
    item.set_created_at(c.status.created_at());
    *item.mutable_labels() = c.status.labels();
    *item.mutable_annotations() = c.status.annotations();
    out.push_back(std::move(item));
  }
  return out;
}

v1::ContainerStatusResponse FakeRuntime::containerStatus(const std::string& containerId,
                                                         bool /*verbose*/) {
  std::lock_guard lock(mutex_);
  record("ContainerStatus");
  v1::ContainerStatusResponse response;
  *response.mutable_status() = container("ContainerStatus", containerId).status;
  return response;
}

void FakeRuntime::updateContainerResources(const std::string& containerId,
                                           const v1::LinuxContainerResources& linux) {
  std::lock_guard lock(mutex_);
  record("UpdateContainerResources");
  auto& c = container("UpdateContainerResources", containerId);
  *c.config.mutable_linux()->mutable_resources() = linux;
}

void FakeRuntime::updateRuntimeConfig(const std::string& podCidr) {
  std::lock_guard lock(mutex_);
  record("UpdateRuntimeConfig");
  podCidr_ = podCidr;
}

std::string FakeRuntime::podCidr() const {
  std::lock_guard lock(mutex_);
  return podCidr_;
}

void FakeRuntime::reopenContainerLog(const std::string& containerId) {
  std::lock_guard lock(mutex_);
  record("ReopenContainerLog");
  container("ReopenContainerLog", containerId);
}

cri::ExecResult FakeRuntime::execSync(const std::string& containerId,
                                      const std::vector<std::string>& cmd,
                                      std::chrono::seconds /*timeout*/) {
  std::lock_guard lock(mutex_);
  record("ExecSync");
  const auto& c = container("ExecSync", containerId);
  if (c.status.state() != v1::CONTAINER_RUNNING) {
    throw cri::Error("ExecSync", kEndpoint, cri::ErrorCode::kFailedPrecondition,
                     "container " + containerId + " is not running");
  }
  const std::string line = std::accumulate(cmd.begin(), cmd.end(), std::string(),
                                           [](const std::string& acc, const std::string& arg) {
                                             return acc.empty() ? arg : acc + " " + arg;
                                           });
  auto it = execResults_.find(line);
  return it == execResults_.end() ? cri::ExecResult{} : it->second;
}

std::string FakeRuntime::exec(const v1::ExecRequest& request) {
  std::lock_guard lock(mutex_);
  record("Exec");
  container("Exec", request.container_id());
  return "http://127.0.0.1:0/exec/" + request.container_id();
}

std::string FakeRuntime::attach(const v1::AttachRequest& request) {
  std::lock_guard lock(mutex_);
  record("Attach");
  container("Attach", request.container_id());
  return "http://127.0.0.1:0/attach/" + request.container_id();
}

std::string FakeRuntime::portForward(const std::string& podSandboxId,
                                     const std::vector<int32_t>& /*ports*/) {
  std::lock_guard lock(mutex_);
  record("PortForward");
  sandbox("PortForward", podSandboxId);
  return "http://127.0.0.1:0/portforward/" + podSandboxId;
}

v1::ContainerStats FakeRuntime::containerStats(const std::string& containerId) {
  std::lock_guard lock(mutex_);
  record("ContainerStats");
  const auto& c = container("ContainerStats", containerId);
  v1::ContainerStats stats;
  stats.mutable_attributes()->set_id(containerId);
  *stats.mutable_attributes()->mutable_metadata() = c.status.metadata();
  stats.mutable_cpu()->set_timestamp(now());
  stats.mutable_memory()->set_timestamp(now());
  return stats;
}

std::vector<v1::ContainerStats> FakeRuntime::listContainerStats(
    const v1::ContainerStatsFilter& filter) {
  std::vector<std::string> ids;
  {
    std::lock_guard lock(mutex_);
    record("ListContainerStats");
    for (const auto& [id, c] : containers_) {
      if (!filter.id().empty() && id != filter.id()) continue;
      if (!filter.pod_sandbox_id().empty() && c.podSandboxId != filter.pod_sandbox_id()) continue;
      ids.push_back(id);
    }
  }
  std::vector<v1::ContainerStats> out;
  out.reserve(ids.size());
  for (const auto& id : ids) out.push_back(containerStats(id));
  return out;
}

std::unique_ptr<cri::EventStream> FakeRuntime::containerEvents() {
  // Like containerd 1.6: no event stream, so callers exercise their relist path.
  throw cri::Error("GetContainerEvents", kEndpoint, cri::ErrorCode::kUnimplemented,
                   "unknown method GetContainerEvents");
}

std::vector<v1::Image> FakeRuntime::listImages(const v1::ImageFilter& filter) {
  std::lock_guard lock(mutex_);
  record("ListImages");
  std::vector<v1::Image> out;
  for (const auto& [id, image] : images_) {
    if (filter.has_image() && !filter.image().image().empty() &&
        findImage(filter.image().image()) != &image) {
      continue;
    }
    out.push_back(image);
  }
  return out;
}

std::optional<v1::Image> FakeRuntime::imageStatus(const v1::ImageSpec& image) {
  std::lock_guard lock(mutex_);
  record("ImageStatus");
  const v1::Image* found = findImage(image.image());
  return found == nullptr ? std::nullopt : std::optional<v1::Image>(*found);
}

std::string FakeRuntime::pullImage(const v1::ImageSpec& image, const v1::AuthConfig& /*auth*/,
                                   const v1::PodSandboxConfig* /*sandboxConfig*/) {
  std::unique_lock lock(mutex_);
  record("PullImage");
  const std::string ref = normalize(image.image());
  auto it = registry_.find(ref);
  if (it == registry_.end()) {
    throw cri::Error("PullImage", kEndpoint, cri::ErrorCode::kNotFound,
                     "failed to resolve reference \"" + ref + "\": not found");
  }
  lock.unlock();
  addLocalImage(ref);
  lock.lock();
  return findImage(ref)->id();
}

void FakeRuntime::removeImage(const v1::ImageSpec& image) {
  std::lock_guard lock(mutex_);
  record("RemoveImage");
  if (const v1::Image* found = findImage(image.image())) {
    images_.erase(found->id());
  }
}

v1::ImageFsInfoResponse FakeRuntime::imageFsInfo() {
  std::lock_guard lock(mutex_);
  record("ImageFsInfo");
  v1::ImageFsInfoResponse response;
  auto* usage = response.add_image_filesystems();
  usage->set_timestamp(now());
  usage->mutable_fs_id()->set_mountpoint("/fake/images");
  uint64_t bytes = 0;
  for (const auto& [id, image] : images_) bytes += image.size();
  usage->mutable_used_bytes()->set_value(bytes);
  return response;
}

}  // namespace kite::testing
