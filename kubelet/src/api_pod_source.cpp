#include "kite/kubelet/api_pod_source.h"

#include <spdlog/spdlog.h>

#include "kite/kubelet/pod_spec.h"

namespace kite::kubelet {

namespace corev1 = api::core::v1;

ApiPodSource::ApiPodSource(client::Client& client, const std::string& nodeName, Sink sink)
    : informer_(client, "", {.fieldSelector = "spec.nodeName=" + nodeName}),
      sink_(std::move(sink)) {
  informer_.addEventHandler({
      .onAdd = [this](const corev1::Pod&) { push(); },
      // Not for a status write (the kubelet's own come back this way): nothing to sync.
      .onUpdate =
          [this](const corev1::Pod& before, const corev1::Pod& after) {
            if (differsForSync(before, after)) push();
          },
      .onDelete = [this](const corev1::Pod&) { push(); },
  });
}

ApiPodSource::~ApiPodSource() { stop(); }

void ApiPodSource::start() {
  informer_.start();
  // An empty first list has no event: report it once the informer synced, so the kubelet
  // knows the API's set (and may clean up what is no longer wanted).
  firstSync_ = std::jthread([this](const std::stop_token& stop) {
    while (!stop.stop_requested()) {
      if (informer_.waitForSync(std::chrono::milliseconds(500))) {
        push();
        return;
      }
    }
  });
}

void ApiPodSource::stop() {
  if (firstSync_.joinable()) {
    firstSync_.request_stop();
    firstSync_.join();
  }
  informer_.stop();
}

std::vector<corev1::Pod> ApiPodSource::pods() const {
  std::vector<corev1::Pod> out;
  for (const auto& pod : informer_.cache().list()) {
    if (pod->metadata.annotations.contains(kConfigMirrorAnnotation)) continue;
    auto copy = *pod;
    copy.metadata.annotations[kConfigSourceAnnotation] = "api";
    out.push_back(std::move(copy));
  }
  return out;
}

void ApiPodSource::push() {
  if (!informer_.hasSynced()) return;  // the first list is reported whole
  // One push at a time, each reading the cache when its turn comes: the last set handed on
  // is the newest.
  std::lock_guard lock(pushMutex_);
  sink_(pods());
}

}  // namespace kite::kubelet
