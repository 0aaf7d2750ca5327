// The proxy's controller: informers mark the state dirty; one thread syncs, batched by
// minSyncPeriod, and at least every syncPeriod (a full resync then).

#include "kite/proxy/proxy.h"

#include <spdlog/spdlog.h>

#include <stdexcept>

#include "kite/client/informer.h"
#include "kite/proxy/nftables_dataplane.h"
#include "kite/proxy/sync_runner.h"

namespace kite::proxy {

using api::core::v1::Service;
using api::discovery::v1::EndpointSlice;
using Clock = std::chrono::steady_clock;

std::unique_ptr<Dataplane> makeDataplane(const ProxyOptions& options) {
  if (options.proxyMode == "nftables") {
    return std::make_unique<NftablesDataplane>(
        nft::RulesOptions{.clusterCidr = options.clusterCidr});
  }
  throw std::invalid_argument("--proxy-mode: unsupported mode \"" + options.proxyMode +
                              "\" (supported: nftables)");
}

class Proxy::Impl {
 public:
  Impl(client::Client& client, ProxyOptions options, std::unique_ptr<Dataplane> dataplane)
      : options_(std::move(options)),
        dataplane_(std::move(dataplane)),
        runner_(*dataplane_),
        services_(client),
        slices_(client) {
    services_.addEventHandler({.onAdd = [this](const Service&) { markDirty(); },
                               .onUpdate = [this](const Service&, const Service&) { markDirty(); },
                               .onDelete = [this](const Service&) { markDirty(); }});
    slices_.addEventHandler(
        {.onAdd = [this](const EndpointSlice&) { markDirty(); },
         .onUpdate = [this](const EndpointSlice&, const EndpointSlice&) { markDirty(); },
         .onDelete = [this](const EndpointSlice&) { markDirty(); }});
  }
  ~Impl() { stop(); }
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  void start() {
    services_.start();
    slices_.start();
    thread_ = std::thread([this] { run(); });
  }

  void stop() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
    services_.stop();
    slices_.stop();
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

  void run() {
    // The first sync waits for both caches, so it never removes rules it has not seen yet.
    while (!services_.waitForSync(std::chrono::milliseconds(200)) ||
           !slices_.waitForSync(std::chrono::milliseconds(200))) {
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
      // Batch: no two syncs closer than minSyncPeriod.
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
    std::vector<Service> services;
    for (const auto& s : services_.cache().list()) services.push_back(*s);
    std::vector<EndpointSlice> slices;
    for (const auto& s : slices_.cache().list()) slices.push_back(*s);
    const auto state = computeDesiredState(services, slices, {.name = options_.hostname});
    if (full) runner_.requestFullSync();
    try {
      runner_.sync(state);
      std::lock_guard lock(mutex_);
      ++syncs_;
    } catch (const std::exception& e) {
      spdlog::error("proxy: sync failed (the next one rewrites everything): {}", e.what());
      std::lock_guard lock(mutex_);
      dirty_ = true;
    }
  }

  ProxyOptions options_;
  std::unique_ptr<Dataplane> dataplane_;
  SyncRunner runner_;
  client::Informer<Service> services_;
  client::Informer<EndpointSlice> slices_;

  mutable std::mutex mutex_;
  std::condition_variable cv_;
  bool stopping_ = false;
  bool dirty_ = false;
  std::size_t syncs_ = 0;
  std::thread thread_;
};

Proxy::Proxy(client::Client& client, const ProxyOptions& options)
    : Proxy(client, options, makeDataplane(options)) {}

Proxy::Proxy(client::Client& client, ProxyOptions options, std::unique_ptr<Dataplane> dataplane)
    : impl_(std::make_unique<Impl>(client, std::move(options), std::move(dataplane))) {}

Proxy::~Proxy() = default;

void Proxy::start() { impl_->start(); }
void Proxy::stop() { impl_->stop(); }
std::size_t Proxy::syncCount() const { return impl_->syncCount(); }

}  // namespace kite::proxy
