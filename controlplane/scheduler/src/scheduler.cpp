// The Scheduler's life cycle and the informer handlers that keep its cache and queue current.
#include "kite/controlplane/scheduler.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <array>
#include <random>

#include "kite/api/meta.h"
#include "scheduler_impl.h"

namespace kite::controlplane {

namespace {

std::string defaultIdentity() {
  std::array<char, 256> host{};
  if (gethostname(host.data(), host.size() - 1) != 0) host = {'k', 'i', 't', 'e'};
  std::random_device rd;
  const auto suffix = std::uniform_int_distribution<unsigned>(0, 0xffffff)(rd);
  std::array<char, 16> hex{};
  std::snprintf(hex.data(), hex.size(), "%06x", suffix);
  return std::string(host.data()) + "_" + hex.data();
}

bool isTerminal(const corev1::Pod& pod) {
  return pod.status.phase == "Succeeded" || pod.status.phase == "Failed";
}

bool hasRequiredPodAffinity(const corev1::Pod& pod) {
  return pod.spec.affinity && pod.spec.affinity->podAffinity &&
         !pod.spec.affinity->podAffinity->requiredDuringSchedulingIgnoredDuringExecution.empty();
}

// A node change that can make a pod fit where it did not.
bool nodeChangeMatters(const corev1::Node& a, const corev1::Node& b) {
  return a.metadata.labels != b.metadata.labels || a.spec.taints != b.spec.taints ||
         a.spec.unschedulable != b.spec.unschedulable ||
         a.status.allocatable != b.status.allocatable;
}

}  // namespace

Scheduler::Impl::Impl(client::Client& client, SchedulerOptions options)
    : client_(client),
      options_(std::move(options)),
      queue_(options_.podInitialBackoff, options_.podMaxBackoff),
      pods_(client),
      nodes_(client),
      claims_(client),
      volumes_(client),
      classes_(client),
      pdbs_(client),
      volumeLister_(claims_, volumes_, classes_),
      algorithm_(&volumeLister_),
      preemptor_(&volumeLister_),
      events_(client, options_.schedulerName),
      binders_(std::max(1, options_.bindWorkers)) {
  if (options_.identity.empty()) options_.identity = defaultIdentity();
  registerHandlers();
}

Scheduler::Impl::~Impl() { stop(); }

bool Scheduler::Impl::responsibleFor(const corev1::Pod& pod) const {
  const std::string& name =
      pod.spec.schedulerName.empty() ? std::string("default-scheduler") : pod.spec.schedulerName;
  return name == options_.schedulerName && pod.spec.nodeName.empty() &&
         !api::isBeingDeleted(pod.metadata) && !isTerminal(pod) && pod.spec.schedulingGates.empty();
}

std::shared_ptr<const corev1::Pod> Scheduler::Impl::shared(const corev1::Pod& pod) const {
  // The informer stored this very object before calling the handler: share it, no copy.
  auto cached = pods_.cache().get(pod.metadata.namespace_, pod.metadata.name);
  if (cached && cached->metadata.resourceVersion == pod.metadata.resourceVersion) return cached;
  return std::make_shared<const corev1::Pod>(pod);
}

void Scheduler::Impl::onPodAdd(const corev1::Pod& pod) {
  if (!pod.spec.nodeName.empty()) {
    if (isTerminal(pod)) return;
    cache_.addOrUpdatePod(shared(pod));
    // A pod that wanted company may find it now.
    queue_.moveAllToActiveOrBackoff(hasRequiredPodAffinity);
  } else if (responsibleFor(pod)) {
    auto latest = shared(pod);
    nominator_.update(nullptr, latest);
    queue_.add(std::move(latest));
  }
}

void Scheduler::Impl::onPodUpdate(const corev1::Pod& oldPod, const corev1::Pod& newPod) {
  const std::string key = api::fullName(newPod.metadata);
  if (!newPod.spec.nodeName.empty()) {
    queue_.remove(key);
    nominator_.remove(key);
    if (isTerminal(newPod)) {
      // Finished pods free their resources.
      cache_.removePod(key);
      if (!isTerminal(oldPod)) queue_.moveAllToActiveOrBackoff();
    } else {
      cache_.addOrUpdatePod(shared(newPod));
    }
  } else if (responsibleFor(newPod)) {
    auto latest = shared(newPod);
    nominator_.update(&oldPod, latest);
    queue_.update(std::move(latest));
  } else {
    queue_.remove(key);
    nominator_.remove(key);
  }
}

void Scheduler::Impl::onPodDelete(const corev1::Pod& pod) {
  const std::string key = api::fullName(pod.metadata);
  queue_.remove(key);
  nominator_.remove(key);
  if (!pod.spec.nodeName.empty() || cache_.isAssumed(key)) {
    cache_.removePod(key);
    queue_.moveAllToActiveOrBackoff();
  }
}

void Scheduler::Impl::registerHandlers() {
  pods_.addEventHandler({
      .onAdd = [this](const corev1::Pod& p) { onPodAdd(p); },
      .onUpdate = [this](const corev1::Pod& o, const corev1::Pod& n) { onPodUpdate(o, n); },
      .onDelete = [this](const corev1::Pod& p) { onPodDelete(p); },
  });
  nodes_.addEventHandler({
      .onAdd =
          [this](const corev1::Node& n) {
            cache_.addOrUpdateNode(std::make_shared<const corev1::Node>(n));
            queue_.moveAllToActiveOrBackoff();
          },
      .onUpdate =
          [this](const corev1::Node& o, const corev1::Node& n) {
            cache_.addOrUpdateNode(std::make_shared<const corev1::Node>(n));
            if (nodeChangeMatters(o, n)) queue_.moveAllToActiveOrBackoff();
          },
      .onDelete = [this](const corev1::Node& n) { cache_.removeNode(n.metadata.name); },
  });
  auto volumeChanged = [this] { queue_.moveAllToActiveOrBackoff(); };
  claims_.addEventHandler({
      .onAdd = [volumeChanged](const corev1::PersistentVolumeClaim&) { volumeChanged(); },
      .onUpdate = [volumeChanged](const corev1::PersistentVolumeClaim&,
                                  const corev1::PersistentVolumeClaim&) { volumeChanged(); },
  });
  volumes_.addEventHandler({
      .onAdd = [volumeChanged](const corev1::PersistentVolume&) { volumeChanged(); },
      .onUpdate = [volumeChanged](const corev1::PersistentVolume&,
                                  const corev1::PersistentVolume&) { volumeChanged(); },
  });
  classes_.addEventHandler({
      .onAdd = [volumeChanged](const storagev1::StorageClass&) { volumeChanged(); },
  });
}

void Scheduler::Impl::setLeading(bool leading) {
  std::lock_guard lock(mutex_);
  leading_ = leading;
  cv_.notify_all();
}

void Scheduler::Impl::start() {
  {
    std::lock_guard lock(mutex_);
    if (started_) return;
    started_ = true;
  }
  nodes_.start();
  volumes_.start();
  claims_.start();
  classes_.start();
  pdbs_.start();
  pods_.start();
  loopThread_ = std::thread([this] { loop(); });
  if (options_.leaderElect) {
    elector_.emplace(client_, client::LeaderElectionConfig{
                                  .leaseNamespace = options_.leaseNamespace,
                                  .leaseName = options_.leaseName,
                                  .identity = options_.identity,
                                  .onStartedLeading = [this] { setLeading(true); },
                                  .onStoppedLeading = [this] { setLeading(false); },
                              });
    elector_->start();
  } else {
    setLeading(true);
  }
}

void Scheduler::Impl::stop() {
  {
    std::lock_guard lock(mutex_);
    if (!started_ || stopping_) return;
    stopping_ = true;
    cv_.notify_all();
  }
  if (elector_) elector_->stop();
  queue_.close();
  if (loopThread_.joinable()) loopThread_.join();
  binders_.stop();
  events_.stop();
  pods_.stop();
  nodes_.stop();
  claims_.stop();
  volumes_.stop();
  classes_.stop();
  pdbs_.stop();
}

Scheduler::Scheduler(client::Client& client, SchedulerOptions options)
    : impl_(std::make_unique<Impl>(client, std::move(options))) {}
Scheduler::~Scheduler() { impl_->stop(); }
void Scheduler::start() { impl_->start(); }
void Scheduler::stop() { impl_->stop(); }
std::size_t Scheduler::scheduledCount() const { return impl_->scheduled_.load(); }
bool Scheduler::isLeader() const {
  std::lock_guard lock(impl_->mutex_);
  return impl_->leading_;
}

}  // namespace kite::controlplane
