#include "pod_gc_controller.h"

#include <spdlog/spdlog.h>

#include <set>
#include <string>

#include "kite/api/meta.h"
#include "node_quarantine.h"
#include "pod_gc.h"
#include "workload_controller_base.h"

namespace kite::controlplane::controllers {

namespace {

using api::core::v1::Node;
using api::core::v1::Pod;

// The work queue key of the sweep over every pod; pod keys ("namespace/name") always hold a
// '/', so it never names a pod.
constexpr std::string_view kSweepKey = "podgc-sweep";

class PodGcController final : public WorkloadControllerBase {
 public:
  PodGcController(client::Client& client, const std::shared_ptr<client::SharedInformers>& informers,
                  const WorkloadControllerOptions& options)
      : WorkloadControllerBase(client, options, informers),
        pods_(informers->get<Pod>()),
        nodes_(informers->get<Node>()),
        quarantine_(options.podGcNodeQuarantine) {
    own(pods_);
    own(nodes_);
    // Pods never bound or on an out-of-service node are handled as soon as they change;
    // those of deleted nodes wait for the sweeps.
    const auto onPod = [this](const Pod& p) {
      if (reasonFor(p, /*onWorker=*/false) != PodGcReason::None) {
        enqueue(api::fullName(p.metadata));
      }
    };
    pods_.addEventHandler(
        {.onAdd = onPod, .onUpdate = [=](const Pod&, const Pod& p) { onPod(p); }});
    nodes_.addEventHandler({
        .onUpdate =
            [this](const Node& old, const Node& n) {
              if (isNodeOutOfService(n) && !isNodeOutOfService(old)) {
                enqueue(std::string(kSweepKey));
              }
            },
        .onDelete = [this](const Node&) { enqueue(std::string(kSweepKey)); },
    });
    enqueue(std::string(kSweepKey));
  }
  ~PodGcController() override { stop(); }

  std::string name() const override { return "podgc"; }

 private:
  void sync(const std::string& key) override {
    if (key == kSweepKey) {
      sweep();
      return;
    }
    const auto cached = pods_.cache().getByKey(key);
    if (!cached) return;
    const auto reason = reasonFor(*cached, /*onWorker=*/true);
    if (reason == PodGcReason::None) return;
    try {
      // Failed first, so that an owner waiting for the terminal phase (a Job under
      // podReplacementPolicy Failed) counts it; a stale copy conflicts and is retried.
      if (!isPodTerminated(*cached)) {
        client_.updateStatus(failedByPodGc(*cached, reason, api::Time(now())));
      }
      forceDelete(*cached);
    } catch (const client::ApiError& e) {
      if (!e.isNotFound()) throw;
    }
  }

  // Why the GC must finish the pod. Off the worker thread the quarantine (the worker's) is
  // not read, so a pod of a deleted node waits for the sweep.
  PodGcReason reasonFor(const Pod& pod, bool onWorker) const {
    const auto node =
        pod.spec.nodeName.empty() ? nullptr : nodes_.cache().get("", pod.spec.nodeName);
    return podGcReason(pod, node.get(),
                       onWorker && quarantine_.confirmedDeleted(pod.spec.nodeName));
  }

  void forceDelete(const Pod& pod) {
    api::meta::v1::DeleteOptions force;
    force.gracePeriodSeconds = 0;
    force.preconditions.emplace().uid = pod.metadata.uid;
    client_.remove<Pod>(pod.metadata.namespace_, pod.metadata.name, force);
  }

  // Upstream's gc(): terminated pods over the threshold, then every pod the GC must finish
  // (each through its own key, so a failure is retried with back-off).
  void sweep() {
    const auto pods = pods_.cache().list();
    for (const auto& pod : terminatedPodsOverThreshold(pods, options_.terminatedPodGcThreshold)) {
      // Force-deleted already, only finalizers keep it: it still counts, as upstream's does.
      if (pod->metadata.deletionGracePeriodSeconds == 0) continue;
      try {
        forceDelete(*pod);
      } catch (const std::exception& e) {
        spdlog::debug("podgc: deleting terminated pod {}: {}", api::fullName(pod->metadata),
                      e.what());
      }
    }
    watchForDeletedNodes(pods);
    for (const auto& pod : pods) {
      if (reasonFor(*pod, /*onWorker=*/true) != PodGcReason::None) {
        enqueue(api::fullName(pod->metadata));
      }
    }
    enqueueAfter(std::string(kSweepKey), options_.podGcPeriod);
    if (const auto due = quarantine_.nextDue()) {
      enqueueAfter(std::string(kSweepKey), *due - NodeQuarantine::Clock::now());
    }
  }

  // Nodes that pods are bound to but the cache lacks go into quarantine; those missing for
  // all of it are asked of the API server, and confirmed deleted on NotFound.
  void watchForDeletedNodes(const std::vector<client::Cache<Pod>::Ptr>& pods) {
    std::set<std::string> missing;
    for (const auto& pod : pods) {
      const auto& node = pod->spec.nodeName;
      if (!node.empty() && !nodes_.cache().get("", node)) missing.insert(node);
    }
    const auto seen = NodeQuarantine::Clock::now();
    quarantine_.track(missing, seen);
    for (const auto& node : quarantine_.due(seen)) {
      try {
        client_.get<Node>("", node);
        quarantine_.restart(node, seen);  // the cache lags behind the API server
      } catch (const client::ApiError& e) {
        if (e.isNotFound()) {
          spdlog::info("podgc: node {} no longer exists; deleting its pods", node);
          quarantine_.confirm(node);
        } else {
          spdlog::debug("podgc: getting node {}: {}", node, e.what());  // asked again next sweep
        }
      } catch (const std::exception& e) {
        spdlog::debug("podgc: getting node {}: {}", node, e.what());
      }
    }
  }

  client::Informer<Pod>& pods_;
  client::Informer<Node>& nodes_;
  NodeQuarantine quarantine_;  // the worker thread's only
};

}  // namespace

std::unique_ptr<Controller> makePodGcController(
    client::Client& client, const std::shared_ptr<client::SharedInformers>& informers,
    const WorkloadControllerOptions& options) {
  return std::make_unique<PodGcController>(client, informers, options);
}

}  // namespace kite::controlplane::controllers
