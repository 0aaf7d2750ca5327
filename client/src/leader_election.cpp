#include "kite/client/leader_election.h"

#include <spdlog/spdlog.h>

#include <random>
#include <stdexcept>

namespace kite::client {

using api::coordination::v1::Lease;

LeaderElector::LeaderElector(Client& client, LeaderElectionConfig config, const base::Clock& clock)
    : client_(client), config_(std::move(config)), clock_(clock) {
  if (config_.leaseName.empty()) throw std::invalid_argument("leader election needs a lease name");
  if (config_.identity.empty()) throw std::invalid_argument("leader election needs an identity");
  if (config_.leaseDuration <= config_.renewDeadline) {
    throw std::invalid_argument("leaseDuration must be greater than renewDeadline");
  }
  if (config_.renewDeadline <= config_.retryPeriod) {
    throw std::invalid_argument("renewDeadline must be greater than retryPeriod");
  }
}

LeaderElector::~LeaderElector() { stop(); }

void LeaderElector::start() {
  std::lock_guard lock(mutex_);
  if (thread_.joinable() || stopping_) return;
  thread_ = std::thread([this] { run(); });
}

void LeaderElector::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    cv_.notify_all();
  }
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
}

bool LeaderElector::isLeader() const {
  std::lock_guard lock(mutex_);
  return leading_;
}

std::string LeaderElector::leader() const {
  std::lock_guard lock(mutex_);
  return observedHolder_;
}

bool LeaderElector::waitFor(std::chrono::milliseconds d) {
  std::unique_lock lock(mutex_);
  return !cv_.wait_for(lock, d, [this] { return stopping_; });
}

void LeaderElector::observe(const Lease& lease) {
  std::string newLeader;
  {
    std::lock_guard lock(mutex_);
    // Expiry runs on this candidate's clock from the moment the record last changed.
    if (!observed_ || observed_->spec != lease.spec) {
      observedAt_ = clock_.now();
    }
    observed_ = lease;
    const std::string holder = lease.spec.holderIdentity.value_or("");
    if (holder != observedHolder_) {
      observedHolder_ = holder;
      newLeader = holder;
    }
  }
  if (!newLeader.empty() && config_.onNewLeader) config_.onNewLeader(newLeader);
}

bool LeaderElector::tryAcquireOrRenew() {
  const api::Time now(clock_.wallNow());
  Lease lease;
  try {
    lease = client_.get<Lease>(config_.leaseNamespace, config_.leaseName);
  } catch (const ApiError& e) {
    if (!e.isNotFound()) {
      spdlog::warn("leader election {}/{}: {}", config_.leaseNamespace, config_.leaseName,
                   e.what());
      return false;
    }
    Lease fresh;
    fresh.metadata.name = config_.leaseName;
    fresh.metadata.namespace_ = config_.leaseNamespace;
    fresh.spec.holderIdentity = config_.identity;
    fresh.spec.leaseDurationSeconds = static_cast<int32_t>(config_.leaseDuration.count());
    fresh.spec.acquireTime = now;
    fresh.spec.renewTime = now;
    fresh.spec.leaseTransitions = 0;
    try {
      observe(client_.create(fresh));
      return true;
    } catch (const std::exception& ce) {
      // Another candidate created it first (AlreadyExists) or the server is away.
      spdlog::debug("leader election {}: create: {}", config_.leaseName, ce.what());
      return false;
    }
  } catch (const std::exception& e) {
    spdlog::warn("leader election {}/{}: {}", config_.leaseNamespace, config_.leaseName, e.what());
    return false;
  }

  observe(lease);
  const std::string holder = lease.spec.holderIdentity.value_or("");
  if (!holder.empty() && holder != config_.identity) {
    std::lock_guard lock(mutex_);
    const auto duration = std::chrono::seconds(lease.spec.leaseDurationSeconds.value_or(
        static_cast<int32_t>(config_.leaseDuration.count())));
    if (observedAt_ + duration > clock_.now()) return false;  // held and not expired
  }
  Lease next = lease;
  if (holder != config_.identity) {
    next.spec.leaseTransitions = lease.spec.leaseTransitions.value_or(0) + (holder.empty() ? 0 : 1);
    next.spec.acquireTime = now;
  }
  next.spec.holderIdentity = config_.identity;
  next.spec.leaseDurationSeconds = static_cast<int32_t>(config_.leaseDuration.count());
  next.spec.renewTime = now;
  try {
    // Carries the resourceVersion read above: a concurrent change makes this a conflict.
    observe(client_.update(next));
    return true;
  } catch (const std::exception& e) {
    spdlog::debug("leader election {}: update: {}", config_.leaseName, e.what());
    return false;
  }
}

bool LeaderElector::release() {
  try {
    Lease lease = client_.get<Lease>(config_.leaseNamespace, config_.leaseName);
    if (lease.spec.holderIdentity.value_or("") != config_.identity) return false;
    const api::Time now(clock_.wallNow());
    lease.spec.holderIdentity = std::string();
    lease.spec.leaseDurationSeconds = 1;
    lease.spec.renewTime = now;
    lease.spec.acquireTime = now;
    observe(client_.update(lease));
    return true;
  } catch (const std::exception& e) {
    spdlog::warn("leader election {}: release failed: {}", config_.leaseName, e.what());
    return false;
  }
}

void LeaderElector::run() {
  std::mt19937 random(std::random_device{}());
  // Up to 20% more than retryPeriod, so candidates do not hit the server in step.
  const auto jittered = [&] {
    const auto base = config_.retryPeriod.count();
    return std::chrono::milliseconds(
        base + std::uniform_int_distribution<std::int64_t>(0, base / 5)(random));
  };
  for (;;) {
    while (!tryAcquireOrRenew()) {
      if (!waitFor(jittered())) return;
    }
    {
      std::lock_guard lock(mutex_);
      if (stopping_) {
        leading_ = false;
      } else {
        leading_ = true;
      }
    }
    if (!isLeader()) {
      if (config_.releaseOnCancel) release();
      return;
    }
    spdlog::info("leader election {}/{}: {} is leading", config_.leaseNamespace, config_.leaseName,
                 config_.identity);
    if (config_.onStartedLeading) config_.onStartedLeading();
    auto lastRenew = clock_.now();
    bool stopped = false;
    for (;;) {
      if (!waitFor(config_.retryPeriod)) {
        stopped = true;
        break;
      }
      if (tryAcquireOrRenew()) {
        lastRenew = clock_.now();
      } else if (clock_.now() - lastRenew > config_.renewDeadline) {
        spdlog::warn("leader election {}/{}: {} lost the lease (not renewed within {} ms)",
                     config_.leaseNamespace, config_.leaseName, config_.identity,
                     config_.renewDeadline.count());
        break;
      }
    }
    {
      std::lock_guard lock(mutex_);
      leading_ = false;
    }
    if (stopped && config_.releaseOnCancel) release();
    if (config_.onStoppedLeading) config_.onStoppedLeading();
    if (stopped) return;
  }
}

}  // namespace kite::client
