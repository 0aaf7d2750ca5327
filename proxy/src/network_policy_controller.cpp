// The NetworkPolicy controller: informers mark the state dirty; one thread syncs, batched by
// minSyncPeriod; full syncs first, after a failure and every syncPeriod.

#include "kite/proxy/network_policy_controller.h"

#include <spdlog/spdlog.h>

#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>

#include "kite/client/informer.h"
#include "kite/proxy/network_policy_dataplane.h"
#include "kite/proxy/network_policy_rules.h"
#include "kite/proxy/network_policy_state.h"

namespace kite::proxy {

using api::core::v1::Namespace;
using api::core::v1::Pod;
using api::networking::v1::NetworkPolicy;
using Clock = std::chrono::steady_clock;

class NetworkPolicyController::Impl {
 public:
  Impl(client::Client& client, NetworkPolicyControllerOptions options)
      : options_(std::move(options)),
        policies_(client),
        pods_(client),
        namespaces_(client),
        desired_(options_.nodeName) {
    if (!options_.apply) {
      runner_ = std::make_unique<netpol::NftablesRunner>();
      options_.apply = [this](const std::string& commands) { runner_->run(commands); };
    }
    auto dirty = [this] { markDirty(); };
    policies_.addEventHandler({.onAdd = [dirty](const NetworkPolicy&) { dirty(); },
                               .onUpdate =
                                   [dirty](const NetworkPolicy& a, const NetworkPolicy& b) {
                                     if (a.spec != b.spec || a.metadata.name != b.metadata.name)
                                       dirty();
                                   },
                               .onDelete = [dirty](const NetworkPolicy&) { dirty(); }});
    // Only what policies look at: labels, IPs, node, host network, named ports, phase.
    pods_.addEventHandler(
        {.onAdd = [dirty](const Pod&) { dirty(); },
         .onUpdate =
             [dirty](const Pod& a, const Pod& b) {
               if (a.metadata.labels != b.metadata.labels || a.status.podIP != b.status.podIP ||
                   a.status.podIPs != b.status.podIPs || a.status.phase != b.status.phase ||
                   a.spec.nodeName != b.spec.nodeName || a.spec.hostNetwork != b.spec.hostNetwork ||
                   a.spec.containers != b.spec.containers ||
                   a.spec.initContainers != b.spec.initContainers) {
                 dirty();
               }
             },
         .onDelete = [dirty](const Pod&) { dirty(); }});
    namespaces_.addEventHandler({.onAdd = [dirty](const Namespace&) { dirty(); },
                                 .onUpdate =
                                     [dirty](const Namespace& a, const Namespace& b) {
                                       if (a.metadata.labels != b.metadata.labels) dirty();
                                     },
                                 .onDelete = [dirty](const Namespace&) { dirty(); }});
  }
  ~Impl() { stop(); }
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  void start() {
    policies_.start();
    pods_.start();
    namespaces_.start();
    thread_ = std::thread([this] { run(); });
  }

  void stop() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
    policies_.stop();
    pods_.stop();
    namespaces_.stop();
  }

  std::size_t syncCount() const {
    std::lock_guard lock(mutex_);
    return syncs_;
  }

 private:
  void markDirty() {
    {
      std::lock_guard lock(mutex_);
      dirty_ = true;
    }
    cv_.notify_all();
  }

  bool synced() const {
    const auto wait = std::chrono::milliseconds(200);
    return policies_.waitForSync(wait) && pods_.waitForSync(wait) && namespaces_.waitForSync(wait);
  }

  void run() {
    // The first sync waits for all three caches: a partial view would isolate pods wrongly.
    while (!synced()) {
      std::lock_guard lock(mutex_);
      if (stopping_) return;
    }
    auto lastSync = Clock::now() - options_.minSyncPeriod;
    auto lastFull = Clock::now();
    std::unique_lock lock(mutex_);
    dirty_ = true;
    while (!stopping_) {
      const auto due = lastFull + options_.syncPeriod;
      cv_.wait_until(lock, due, [&] { return stopping_ || dirty_; });
      if (stopping_) break;
      const auto earliest = lastSync + options_.minSyncPeriod;
      if (Clock::now() < earliest) {
        cv_.wait_until(lock, earliest, [&] { return stopping_; });
        if (stopping_) break;
      }
      const bool full = Clock::now() >= due;
      dirty_ = false;
      lock.unlock();
      syncOnce(full);
      lock.lock();
      lastSync = Clock::now();
      if (full) lastFull = lastSync;
    }
  }

  void syncOnce(bool full) {
    // The caches' objects as they are (an unchanged object keeps its pointer), so only the
    // policies a change concerns are computed again.
    const auto policies = policies_.cache().list();
    netpol::State next =
        desired_.update(policies, pods_.cache().list(), namespaces_.cache().list());
    spdlog::debug("network policy: {} of {} policies computed again", desired_.recomputed(),
                  policies.size());
    for (const auto& e : next.errors) spdlog::warn("network policy: {}", e);
    try {
      if (full || !applied_) {
        options_.apply(netpol::nft::renderFull(next));
      } else {
        options_.apply(netpol::nft::renderChanges(*applied_, next));
      }
      applied_ = std::move(next);
      std::lock_guard lock(mutex_);
      ++syncs_;
    } catch (const std::exception& e) {
      spdlog::error("network policy: sync failed (the next one rewrites everything): {}", e.what());
      applied_.reset();
      std::lock_guard lock(mutex_);
      dirty_ = true;
    }
  }

  NetworkPolicyControllerOptions options_;
  std::unique_ptr<netpol::NftablesRunner> runner_;
  client::Informer<NetworkPolicy> policies_;
  client::Informer<Pod> pods_;
  client::Informer<Namespace> namespaces_;
  netpol::IncrementalState desired_;  // only the sync thread touches it
  std::optional<netpol::State> applied_;

  mutable std::mutex mutex_;
  std::condition_variable cv_;
  bool stopping_ = false;
  bool dirty_ = false;
  std::size_t syncs_ = 0;
  std::thread thread_;
};

NetworkPolicyController::NetworkPolicyController(client::Client& client,
                                                 NetworkPolicyControllerOptions options)
    : impl_(std::make_unique<Impl>(client, std::move(options))) {}

NetworkPolicyController::~NetworkPolicyController() = default;

void NetworkPolicyController::start() { impl_->start(); }
void NetworkPolicyController::stop() { impl_->stop(); }
std::size_t NetworkPolicyController::syncCount() const { return impl_->syncCount(); }

void NetworkPolicyController::cleanup() { netpol::NftablesRunner().cleanup(); }

}  // namespace kite::proxy
