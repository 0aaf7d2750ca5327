#pragma once
// The parts of the Scheduler: informers feeding the cache and the queue (scheduler.cpp) and
// the scheduling cycle with binding and failure reporting (schedule_one.cpp).

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "event_recorder.h"
#include "kite/api/policy/v1/types.h"
#include "kite/api/storage/v1/types.h"
#include "kite/client/informer.h"
#include "kite/client/leader_election.h"
#include "kite/controlplane/scheduler.h"
#include "kite/controlplane/scheduler/algorithm.h"
#include "kite/controlplane/scheduler/cache.h"
#include "kite/controlplane/scheduler/nominator.h"
#include "kite/controlplane/scheduler/preemption.h"
#include "kite/controlplane/scheduler/scheduling_queue.h"
#include "worker_pool.h"

namespace kite::controlplane {

namespace sched = scheduler;
namespace corev1 = api::core::v1;
namespace storagev1 = api::storage::v1;

// Claims, volumes and classes from the informers, plus the volumes this scheduler reserved
// for a claim and is still binding (upstream's assume cache): other claims see them taken.
class InformerVolumeLister final : public sched::VolumeLister {
 public:
  InformerVolumeLister(const client::Informer<corev1::PersistentVolumeClaim>& claims,
                       const client::Informer<corev1::PersistentVolume>& volumes,
                       const client::Informer<storagev1::StorageClass>& classes)
      : claims_(claims), volumes_(volumes), classes_(classes) {}
  std::shared_ptr<const corev1::PersistentVolumeClaim> claim(
      const std::string& ns, const std::string& name) const override;
  std::shared_ptr<const corev1::PersistentVolume> volume(const std::string& name) const override;
  std::vector<std::shared_ptr<const corev1::PersistentVolume>> volumes() const override;
  std::shared_ptr<const storagev1::StorageClass> storageClass(
      const std::string& name) const override;

  void reserve(const std::string& volume, const corev1::ObjectReference& claim);
  void release(const std::string& volume);

 private:
  std::shared_ptr<const corev1::PersistentVolume> withReservation(
      std::shared_ptr<const corev1::PersistentVolume> pv) const;

  const client::Informer<corev1::PersistentVolumeClaim>& claims_;
  const client::Informer<corev1::PersistentVolume>& volumes_;
  const client::Informer<storagev1::StorageClass>& classes_;
  mutable std::mutex mutex_;
  std::map<std::string, corev1::ObjectReference> reserved_;
};

class Scheduler::Impl {
 public:
  Impl(client::Client& client, SchedulerOptions options);
  ~Impl();

  void start();
  void stop();

  // ---- scheduler.cpp ----
  void registerHandlers();
  bool responsibleFor(const corev1::Pod& pod) const;
  void onPodAdd(const corev1::Pod& pod);
  void onPodUpdate(const corev1::Pod& oldPod, const corev1::Pod& newPod);
  void onPodDelete(const corev1::Pod& pod);
  std::shared_ptr<const corev1::Pod> shared(const corev1::Pod& pod) const;
  void setLeading(bool leading);

  // ---- schedule_one.cpp ----
  void loop();
  void scheduleOne(const sched::SchedulingQueue::QueuedPod& queued);
  void bind(const sched::SchedulingQueue::QueuedPod& queued,
            const std::shared_ptr<const corev1::Pod>& assumed, const sched::ScheduleResult& result);
  void bindVolumes(const sched::ScheduleResult& result);
  void releaseVolumes(const sched::ScheduleResult& result);
  void reportUnschedulable(const std::shared_ptr<const corev1::Pod>& pod,
                           const std::string& message,
                           const std::optional<std::string>& nomination);
  // A strategic merge patch of the pod's status subresource; throws as the client does.
  void patchPodStatus(const corev1::Pod& pod, const std::string& body);

  // ---- preempt.cpp ----
  // The pod fits nowhere: preemption (upstream's PostFilter), then the pod waits as
  // unschedulable with upstream's FailedScheduling text.
  void handleFitError(const sched::SchedulingQueue::QueuedPod& queued,
                      const std::shared_ptr<const corev1::Pod>& pod, const sched::PodInfo& info,
                      const sched::FitError& error, const sched::NominatedPods& nominated);
  // Upstream's prepareCandidate: each victim gets DisruptionTarget, is deleted and gets a
  // Preempted event; lower-priority pods nominated to the node lose that nomination. False
  // when an API call failed.
  bool evictVictims(const corev1::Pod& preemptor, const std::string& node,
                    const std::vector<sched::PodInfo>& victims);
  void clearNomination(const corev1::Pod& pod);

  client::Client& client_;
  SchedulerOptions options_;
  sched::SchedulerCache cache_;
  sched::SchedulingQueue queue_;
  client::Informer<corev1::Pod> pods_;
  client::Informer<corev1::Node> nodes_;
  client::Informer<corev1::PersistentVolumeClaim> claims_;
  client::Informer<corev1::PersistentVolume> volumes_;
  client::Informer<storagev1::StorageClass> classes_;
  client::Informer<api::policy::v1::PodDisruptionBudget> pdbs_;
  InformerVolumeLister volumeLister_;
  sched::Algorithm algorithm_;
  sched::Preemptor preemptor_;
  sched::Nominator nominator_;
  sched::EventRecorder events_;
  sched::WorkerPool binders_;
  std::optional<client::LeaderElector> elector_;

  std::mutex mutex_;
  std::condition_variable cv_;
  bool started_ = false;
  bool stopping_ = false;
  bool leading_ = false;
  std::atomic<std::size_t> scheduled_{0};
  std::thread loopThread_;
};

}  // namespace kite::controlplane
