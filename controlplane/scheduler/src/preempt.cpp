// The scheduler's side of preemption: run it after a failed attempt, then act on the API as
// upstream's prepareCandidate does (DisruptionTarget, delete, Preempted event).
#include <spdlog/spdlog.h>

#include "kite/api/json.h"
#include "kite/api/meta.h"
#include "scheduler_impl.h"

namespace kite::controlplane {

void Scheduler::Impl::handleFitError(const sched::SchedulingQueue::QueuedPod& queued,
                                     const std::shared_ptr<const corev1::Pod>& pod,
                                     const sched::PodInfo& info, const sched::FitError& error,
                                     const sched::NominatedPods& nominated) {
  std::string message = error.what();
  std::optional<std::string> nomination;
  bool failed = false;
  if (error.numAllNodes() > 0) {
    const sched::PdbList pdbs = pdbs_.cache().list();
    auto outcome = cache_.withNodes([&](const std::vector<const sched::NodeInfo*>& nodes) {
      return preemptor_.preempt(info, nodes, error.statuses(), pdbs, nominated);
    });
    message = error.message(outcome.message);
    nomination = outcome.nominatedNode;
    if (nomination && !nomination->empty() && !evictVictims(*pod, *nomination, outcome.victims)) {
      // As upstream, the nomination stays as it was; the pod is tried again after back-off.
      nomination.reset();
      failed = true;
    }
  }
  // In memory at once, so the next decisions leave the room free for it.
  if (nomination) nominator_.nominate(pod, *nomination);
  if (failed) {
    queue_.addBackoff(queued);
  } else {
    queue_.addUnschedulable(queued);
  }
  binders_.submit(
      [this, pod, message, nomination] { reportUnschedulable(pod, message, nomination); });
}

bool Scheduler::Impl::evictVictims(const corev1::Pod& preemptor, const std::string& node,
                                   const std::vector<sched::PodInfo>& victims) {
  const std::string schedulerName =
      preemptor.spec.schedulerName.empty() ? options_.schedulerName : preemptor.spec.schedulerName;
  corev1::PodCondition condition;
  condition.type = "DisruptionTarget";
  condition.status = "True";
  condition.reason = "PreemptionByScheduler";
  condition.message = schedulerName + ": preempting to accommodate a higher priority pod";
  const std::string& uid = preemptor.metadata.uid;
  for (const auto& victim : victims) {
    const corev1::Pod& v = *victim.pod;
    try {
      const auto* current = api::findCondition(v.status.conditions, "DisruptionTarget");
      if (current == nullptr || current->status != condition.status ||
          current->reason != condition.reason || current->message != condition.message) {
        condition.lastTransitionTime = api::Time::now();
        patchPodStatus(v, R"({"status":{"conditions":[)" + api::encodeJson(condition) + "]}}");
      }
      client_.remove<corev1::Pod>(v.metadata.namespace_, v.metadata.name);
    } catch (const client::ApiError& e) {
      if (!e.isNotFound()) {
        spdlog::warn("scheduler: preempting {}/{} for {}/{} failed: {}", v.metadata.namespace_,
                     v.metadata.name, preemptor.metadata.namespace_, preemptor.metadata.name,
                     e.what());
        return false;
      }
    } catch (const std::exception& e) {
      spdlog::warn("scheduler: preempting {}/{} failed: {}", v.metadata.namespace_, v.metadata.name,
                   e.what());
      return false;
    }
    spdlog::info("scheduler: {}/{} preempted {}/{} on {}", preemptor.metadata.namespace_,
                 preemptor.metadata.name, v.metadata.namespace_, v.metadata.name, node);
    std::string message = "Preempted by pod ";
    message.append(uid).append(" on node ").append(node);
    events_.record(v, "Normal", "Preempted", std::move(message), "Preempting", &preemptor);
  }
  // Lower-priority pods waiting for this node may no longer fit there: they look again.
  for (const auto& other : nominator_.lowerPriorityOn(node, sched::podPriority(preemptor))) {
    nominator_.remove(api::fullName(other.pod->metadata));
    clearNomination(*other.pod);
  }
  return true;
}

void Scheduler::Impl::clearNomination(const corev1::Pod& pod) {
  if (pod.status.nominatedNodeName.empty()) return;
  try {
    patchPodStatus(pod, R"({"status":{"nominatedNodeName":null}})");
  } catch (const std::exception& e) {
    // Not critical (upstream neither fails for it): the next attempt nominates anew.
    spdlog::warn("scheduler: cannot clear the nominated node of {}/{}: {}", pod.metadata.namespace_,
                 pod.metadata.name, e.what());
  }
}

}  // namespace kite::controlplane
