// The scheduling cycle: pop a pod, decide on the cache's nodes, assume it there and hand the
// binding to the binder pool; or report why it fits nowhere.
#include <spdlog/spdlog.h>

#include "kite/api/json.h"
#include "kite/api/meta.h"
#include "scheduler_impl.h"

namespace kite::controlplane {

namespace {

constexpr auto kPopTimeout = std::chrono::milliseconds(200);
constexpr std::string_view kSelectedNodeAnnotation = "volume.kubernetes.io/selected-node";

corev1::ObjectReference claimReference(const corev1::PersistentVolumeClaim& pvc) {
  return {.kind = "PersistentVolumeClaim",
          .namespace_ = pvc.metadata.namespace_,
          .name = pvc.metadata.name,
          .uid = pvc.metadata.uid,
          .apiVersion = "v1",
          .resourceVersion = pvc.metadata.resourceVersion};
}

}  // namespace

void Scheduler::Impl::bindVolumes(const sched::ScheduleResult& result) {
  // As upstream's VolumeBinding PreBind: the chosen volume is pre-bound to the claim
  // (claimRef, which the PV controller completes) and the claim learns its node.
  for (const auto& choice : result.volumeChoices) {
    const auto slash = choice.claim.find('/');
    const std::string ns = choice.claim.substr(0, slash);
    const std::string name = choice.claim.substr(slash + 1);
    auto pvc = client_.get<corev1::PersistentVolumeClaim>(ns, name);
    // No volume chosen: the class provisions one, and the selected-node annotation below is
    // what its provisioner waits for.
    if (!choice.volume.empty()) {
      auto pv = client_.get<corev1::PersistentVolume>("", choice.volume);
      if (!pv.spec.claimRef) {
        pv.spec.claimRef = claimReference(pvc);
        pv.metadata.annotations["pv.kubernetes.io/bound-by-controller"] = "yes";
        client_.update(pv);
      } else if (pv.spec.claimRef->name != name || pv.spec.claimRef->namespace_ != ns) {
        throw std::runtime_error("persistentvolume " + choice.volume + " was taken by " +
                                 pv.spec.claimRef->namespace_ + "/" + pv.spec.claimRef->name);
      }
    }
    // Node names are DNS subdomains: nothing to escape.
    const std::string body = R"({"metadata":{"annotations":{")" +
                             std::string(kSelectedNodeAnnotation) + R"(":")" + result.node +
                             "\"}}}";
    client_.patch<corev1::PersistentVolumeClaim>(ns, name, client::PatchType::Merge, body);
  }
}

void Scheduler::Impl::releaseVolumes(const sched::ScheduleResult& result) {
  for (const auto& choice : result.volumeChoices) {
    if (!choice.volume.empty()) volumeLister_.release(choice.volume);
  }
}

void Scheduler::Impl::loop() {
  bool synced = false;
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      cv_.wait(lock, [&] { return stopping_ || leading_; });
      if (stopping_) return;
    }
    if (!synced) {
      // Decisions on a partial picture would overcommit nodes: wait for every informer.
      synced = pods_.waitForSync(kPopTimeout) && nodes_.waitForSync(kPopTimeout) &&
               claims_.waitForSync(kPopTimeout) && volumes_.waitForSync(kPopTimeout) &&
               classes_.waitForSync(kPopTimeout) && pdbs_.waitForSync(kPopTimeout);
      continue;
    }
    auto queued = queue_.pop(kPopTimeout);
    if (!queued) continue;
    try {
      scheduleOne(*queued);
    } catch (const std::exception& e) {
      spdlog::error("scheduler: scheduling {} failed: {}", queued->key, e.what());
      queue_.addBackoff(*queued);
    }
  }
}

void Scheduler::Impl::scheduleOne(const sched::SchedulingQueue::QueuedPod& queued) {
  // The newest version: it may have been bound, deleted or changed since it was queued.
  auto latest = pods_.cache().getByKey(queued.key);
  if (!latest || !responsibleFor(*latest) || cache_.isAssumed(queued.key)) {
    queue_.done(queued.key);
    return;
  }
  sched::PodInfo info = sched::PodInfo::from(latest);
  sched::ScheduleResult result;
  // Empty (no copy) unless some pod waits for room made by preemption.
  const sched::NominatedPods nominated = nominator_.snapshot();
  try {
    result = cache_.withNodes([&](const std::vector<const sched::NodeInfo*>& nodes) {
      return algorithm_.schedule(info, nodes, nominated);
    });
  } catch (const sched::FitError& e) {
    handleFitError(queued, latest, info, e, nominated);
    return;
  }
  auto assumed = std::make_shared<corev1::Pod>(*latest);
  assumed->spec.nodeName = result.node;
  info.pod = assumed;
  cache_.assume(std::move(info));
  // It counts on its node now, no longer as nominated there (upstream's assume).
  nominator_.remove(queued.key);
  for (const auto& choice : result.volumeChoices) {
    const auto slash = choice.claim.find('/');
    const auto pvc =
        volumeLister_.claim(choice.claim.substr(0, slash), choice.claim.substr(slash + 1));
    if (pvc && !choice.volume.empty()) volumeLister_.reserve(choice.volume, claimReference(*pvc));
  }
  binders_.submit([this, queued, assumed, result] { bind(queued, assumed, result); });
}

void Scheduler::Impl::bind(const sched::SchedulingQueue::QueuedPod& queued,
                           const std::shared_ptr<const corev1::Pod>& assumed,
                           const sched::ScheduleResult& result) {
  const auto& m = assumed->metadata;
  try {
    bindVolumes(result);
    corev1::Binding binding;
    binding.apiVersion = "v1";
    binding.kind = "Binding";
    binding.metadata.name = m.name;
    binding.metadata.namespace_ = m.namespace_;
    binding.metadata.uid = m.uid;
    binding.target = {.kind = "Node", .name = result.node, .apiVersion = "v1"};
    client_.writeRaw("POST", client::resourceOf<corev1::Pod>(), m.namespace_, m.name, "binding",
                     api::encodeJson(binding), "application/json", {});
  } catch (const client::ApiError& e) {
    cache_.forget(queued.key);
    releaseVolumes(result);
    if (e.isNotFound() || e.isConflict()) {
      // Deleted, or bound by someone else meanwhile: nothing left to do.
      queue_.done(queued.key);
      return;
    }
    spdlog::warn("scheduler: binding {} to {} failed: {}", queued.key, result.node, e.what());
    queue_.addBackoff(queued);
    return;
  } catch (const std::exception& e) {
    cache_.forget(queued.key);
    releaseVolumes(result);
    spdlog::warn("scheduler: binding {} to {} failed: {}", queued.key, result.node, e.what());
    queue_.addBackoff(queued);
    return;
  }
  ++scheduled_;
  queue_.done(queued.key);
  events_.record(*assumed, "Normal", "Scheduled",
                 "Successfully assigned " + m.namespace_ + "/" + m.name + " to " + result.node);
}

void Scheduler::Impl::reportUnschedulable(const std::shared_ptr<const corev1::Pod>& pod,
                                          const std::string& message,
                                          const std::optional<std::string>& nomination) {
  const auto& m = pod->metadata;
  spdlog::info("scheduler: {}/{} is unschedulable: {}", m.namespace_, m.name, message);
  events_.record(*pod, "Warning", "FailedScheduling", message);
  // As upstream's updatePod: the nomination is written only when it changes.
  const bool nominationChanges = nomination && *nomination != pod->status.nominatedNodeName;
  const auto* current = api::findCondition(pod->status.conditions, "PodScheduled");
  if (current != nullptr && current->status == "False" && current->reason == "Unschedulable" &&
      current->message == message && !nominationChanges) {
    return;  // already says so: no write
  }
  corev1::PodCondition condition;
  condition.type = "PodScheduled";
  condition.status = "False";
  condition.reason = "Unschedulable";
  condition.message = message;
  condition.lastTransitionTime = api::Time::now();
  std::string body = R"({"status":{)";
  if (nominationChanges) {
    // Node names are DNS subdomains: nothing to escape.
    body += nomination->empty() ? R"("nominatedNodeName":null,)"
                                : R"("nominatedNodeName":")" + *nomination + "\",";
  }
  body += R"("conditions":[)" + api::encodeJson(condition) + "]}}";
  try {
    patchPodStatus(*pod, body);
  } catch (const client::ApiError& e) {
    if (!e.isNotFound())
      spdlog::warn("scheduler: cannot update {}/{}: {}", m.namespace_, m.name, e.what());
  } catch (const std::exception& e) {
    spdlog::warn("scheduler: cannot update {}/{}: {}", m.namespace_, m.name, e.what());
  }
}

void Scheduler::Impl::patchPodStatus(const corev1::Pod& pod, const std::string& body) {
  client_.writeRaw("PATCH", client::resourceOf<corev1::Pod>(), pod.metadata.namespace_,
                   pod.metadata.name, "status", body,
                   client::contentTypeOf(client::PatchType::Strategic), {});
}

}  // namespace kite::controlplane
