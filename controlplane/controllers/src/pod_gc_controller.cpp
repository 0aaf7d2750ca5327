#include "pod_gc_controller.h"

#include "kite/api/meta.h"
#include "workload_controller_base.h"

namespace kite::controlplane::controllers {

bool isUnscheduledTerminating(const api::core::v1::Pod& pod) {
  return pod.metadata.deletionTimestamp.has_value() && pod.spec.nodeName.empty();
}

namespace {

using api::core::v1::Pod;

class PodGcController final : public WorkloadControllerBase {
 public:
  PodGcController(client::Client& client, const WorkloadControllerOptions& options)
      : WorkloadControllerBase(client, options), pods_(client) {
    own(pods_);
    const auto onPod = [this](const Pod& p) {
      if (isUnscheduledTerminating(p)) enqueue(api::fullName(p.metadata));
    };
    pods_.addEventHandler(
        {.onAdd = onPod, .onUpdate = [=](const Pod&, const Pod& p) { onPod(p); }});
  }
  ~PodGcController() override { stop(); }

  std::string name() const override { return "podgc"; }

 private:
  void sync(const std::string& key) override {
    const auto cached = pods_.cache().getByKey(key);
    if (!cached || !isUnscheduledTerminating(*cached)) return;
    try {
      // Failed first, so that an owner waiting for the terminal phase (a Job under
      // podReplacementPolicy Failed) counts it; a stale copy conflicts and is retried.
      if (cached->status.phase != "Succeeded" && cached->status.phase != "Failed") {
        Pod failed = *cached;
        failed.status.phase = "Failed";
        client_.updateStatus(failed);
      }
      api::meta::v1::DeleteOptions now;
      now.gracePeriodSeconds = 0;
      now.preconditions.emplace().uid = cached->metadata.uid;
      client_.remove<Pod>(cached->metadata.namespace_, cached->metadata.name, now);
    } catch (const client::ApiError& e) {
      if (!e.isNotFound()) throw;
    }
  }

  client::Informer<Pod> pods_;
};

}  // namespace

std::unique_ptr<Controller> makePodGcController(client::Client& client,
                                                const WorkloadControllerOptions& options) {
  return std::make_unique<PodGcController>(client, options);
}

}  // namespace kite::controlplane::controllers
