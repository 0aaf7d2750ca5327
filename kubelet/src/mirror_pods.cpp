#include "kite/kubelet/mirror_pods.h"

#include <spdlog/spdlog.h>

#include <set>

#include "kite/client/errors.h"
#include "kite/kubelet/api_pod_source.h"

namespace kite::kubelet {

namespace corev1 = api::core::v1;

std::string staticPodHash(const corev1::Pod& pod) {
  const auto it = pod.metadata.annotations.find("kubernetes.io/config.hash");
  return it != pod.metadata.annotations.end() ? it->second : pod.metadata.uid;
}

MirrorPods::MirrorPods(client::Client& client, std::string nodeName,
                       std::chrono::milliseconds period)
    : client_(client), nodeName_(std::move(nodeName)), period_(period) {}

MirrorPods::~MirrorPods() { stop(); }

void MirrorPods::start() {
  thread_ = std::jthread([this](const std::stop_token& stop) { run(stop); });
}

void MirrorPods::stop() {
  if (thread_.joinable()) {
    thread_.request_stop();
    thread_.join();
  }
}

void MirrorPods::setStaticPods(const std::vector<corev1::Pod>& pods) {
  std::lock_guard lock(mutex_);
  staticPods_ = pods;
  known_ = true;
  dirty_ = true;
  wake_.notify_all();
}

std::string MirrorPods::mirrorUid(const std::string& staticPodUid) const {
  std::lock_guard lock(mutex_);
  const auto it = mirrorUids_.find(staticPodUid);
  return it == mirrorUids_.end() ? "" : it->second;
}

void MirrorPods::run(const std::stop_token& stop) {
  while (!stop.stop_requested()) {
    try {
      reconcile();
    } catch (const std::exception& e) {
      spdlog::warn("mirror pods: {}", e.what());
    }
    std::unique_lock lock(mutex_);
    wake_.wait_for(lock, stop, period_, [this] { return dirty_; });
  }
}

corev1::Pod MirrorPods::mirrorOf(const corev1::Pod& staticPod, const std::string& nodeUid) const {
  corev1::Pod mirror;
  mirror.metadata.name = staticPod.metadata.name;
  mirror.metadata.namespace_ = staticPod.metadata.namespace_;
  mirror.metadata.labels = staticPod.metadata.labels;
  mirror.metadata.annotations = staticPod.metadata.annotations;
  mirror.metadata.annotations[kConfigMirrorAnnotation] = staticPodHash(staticPod);
  mirror.metadata.annotations[kConfigSourceAnnotation] = "file";
  api::meta::v1::OwnerReference owner;
  owner.apiVersion = "v1";
  owner.kind = "Node";
  owner.name = nodeName_;
  owner.uid = nodeUid;
  owner.controller = true;
  mirror.metadata.ownerReferences.push_back(owner);
  mirror.spec = staticPod.spec;
  mirror.spec.nodeName = nodeName_;
  return mirror;
}

void MirrorPods::reconcile() {
  std::vector<corev1::Pod> statics;
  {
    std::lock_guard lock(mutex_);
    if (!known_) return;
    statics = staticPods_;
    dirty_ = false;
  }
  // Owned by the Node: no mirror pods before it is registered.
  const auto node = client_.get<corev1::Node>("", nodeName_);
  const auto existing =
      client_.list<corev1::Pod>("", {.fieldSelector = "spec.nodeName=" + nodeName_});
  std::map<std::string, corev1::Pod> mirrors;  // "ns/name"
  for (const auto& pod : existing.items) {
    if (pod.metadata.annotations.contains(kConfigMirrorAnnotation)) {
      mirrors[pod.metadata.namespace_ + "/" + pod.metadata.name] = pod;
    }
  }
  const auto remove = [&](const corev1::Pod& mirror) {
    api::meta::v1::DeleteOptions options;
    options.gracePeriodSeconds = 0;
    options.preconditions.emplace();
    options.preconditions->uid = mirror.metadata.uid;
    try {
      client_.remove<corev1::Pod>(mirror.metadata.namespace_, mirror.metadata.name, options);
      spdlog::info("mirror pod {}/{} deleted", mirror.metadata.namespace_, mirror.metadata.name);
    } catch (const client::ApiError& e) {
      if (!e.isNotFound() && !e.isConflict()) throw;
    }
  };
  std::map<std::string, std::string> uids;
  std::set<std::string> wanted;
  for (const auto& pod : statics) {
    const std::string key = pod.metadata.namespace_ + "/" + pod.metadata.name;
    wanted.insert(key);
    const auto it = mirrors.find(key);
    if (it != mirrors.end() && it->second.metadata.deletionTimestamp == std::nullopt &&
        it->second.metadata.annotations.at(kConfigMirrorAnnotation) == staticPodHash(pod)) {
      uids[pod.metadata.uid] = it->second.metadata.uid;
      continue;
    }
    if (it != mirrors.end()) remove(it->second);  // of an older version of the static pod
    try {
      const auto created = client_.create(mirrorOf(pod, node.metadata.uid));
      uids[pod.metadata.uid] = created.metadata.uid;
      spdlog::info("mirror pod {} created", key);
    } catch (const client::ApiError& e) {
      // A pod of that name that is not a mirror pod is left alone, as upstream does.
      spdlog::warn("mirror pod {}: {}", key, e.what());
    }
  }
  for (const auto& [key, mirror] : mirrors) {
    if (!wanted.contains(key)) remove(mirror);
  }
  std::lock_guard lock(mutex_);
  mirrorUids_ = std::move(uids);
}

}  // namespace kite::kubelet
