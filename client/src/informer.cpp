#include "kite/client/informer.h"

#include <spdlog/spdlog.h>

#include <random>

namespace kite::client {

InformerBase::InformerBase(Client& client, ResourceRef ref, std::string ns, InformerOptions options)
    : client_(client),
      ref_(std::move(ref)),
      namespace_(ref_.namespaced ? std::move(ns) : std::string()),
      options_(std::move(options)) {}

InformerBase::~InformerBase() { stop(); }

void InformerBase::start() {
  std::lock_guard lock(mutex_);
  if (thread_.joinable() || stopping_) return;
  thread_ = std::thread([this] { run(); });
}

void InformerBase::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    if (watch_ != nullptr) watch_->stop();
    cv_.notify_all();
  }
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
}

void InformerBase::acquire() {
  {
    std::lock_guard lock(mutex_);
    ++users_;
  }
  start();
}

void InformerBase::release() {
  {
    std::lock_guard lock(mutex_);
    if (--users_ > 0) return;
  }
  stop();
}

bool InformerBase::hasSynced() const {
  std::lock_guard lock(mutex_);
  return synced_;
}

bool InformerBase::waitForSync(std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mutex_);
  cv_.wait_for(lock, timeout, [this] { return synced_ || stopping_; });
  return synced_;
}

std::string InformerBase::lastSyncResourceVersion() const {
  std::lock_guard lock(mutex_);
  return resourceVersion_;
}

std::size_t InformerBase::listCount() const {
  std::lock_guard lock(mutex_);
  return lists_;
}

bool InformerBase::sleepFor(std::chrono::milliseconds d) {
  std::unique_lock lock(mutex_);
  return !cv_.wait_for(lock, d, [this] { return stopping_; });
}

void InformerBase::run() {
  auto backoff = options_.backoffInitial;
  for (;;) {
    const bool failed = listAndWatch();
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return;
    }
    if (failed) {
      if (!sleepFor(backoff)) return;
      backoff = std::min(backoff * 2, options_.backoffMax);
    } else {
      backoff = options_.backoffInitial;
    }
  }
}

void InformerBase::maybeResync() {
  if (options_.resyncPeriod <= std::chrono::milliseconds::zero()) return;
  const auto now = std::chrono::steady_clock::now();
  if (now < nextResync_) return;
  resync();
  nextResync_ = now + options_.resyncPeriod;
}

bool InformerBase::listAndWatch() {
  const std::string what = ref_.resource + (namespace_.empty() ? "" : " in " + namespace_);
  try {
    ListOptions lo;
    lo.labelSelector = options_.labelSelector;
    lo.fieldSelector = options_.fieldSelector;
    lo.limit = options_.pageSize;
    RawList list = client_.listAllRaw(ref_, namespace_, lo);
    replace(list.items);
    std::lock_guard lock(mutex_);
    resourceVersion_ = list.resourceVersion;
    synced_ = true;
    ++lists_;
    cv_.notify_all();
  } catch (const std::exception& e) {
    spdlog::warn("informer {}: list failed: {}", what, e.what());
    return true;
  }
  nextResync_ = std::chrono::steady_clock::now() + options_.resyncPeriod;

  std::mt19937 random(std::random_device{}());
  for (;;) {
    ListOptions wo;
    wo.labelSelector = options_.labelSelector;
    wo.fieldSelector = options_.fieldSelector;
    wo.allowWatchBookmarks = true;
    wo.timeoutSeconds = options_.watchTimeoutSeconds + std::uniform_int_distribution<std::int64_t>(
                                                           0, options_.watchTimeoutSeconds)(random);
    std::unique_ptr<RawWatch> watch;
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return false;
      wo.resourceVersion = resourceVersion_;
      watch = client_.watchRaw(ref_, namespace_, wo);
      watch_ = watch.get();
    }
    const auto started = std::chrono::steady_clock::now();
    bool gone = false;
    bool failed = false;
    std::size_t events = 0;
    while (!gone && !failed) {
      std::optional<std::chrono::milliseconds> wait;
      if (options_.resyncPeriod > std::chrono::milliseconds::zero()) {
        wait = std::max(std::chrono::milliseconds(1),
                        std::chrono::duration_cast<std::chrono::milliseconds>(
                            nextResync_ - std::chrono::steady_clock::now()));
      }
      auto event = watch->next(wait);
      if (!event) {
        if (watch->closed()) break;
        maybeResync();
        continue;
      }
      ++events;
      try {
        std::string rv;
        switch (event->type) {
          case EventType::Bookmark:
            rv = api::decodeJson<api::meta::v1::PartialObjectMetadata>(event->object)
                     .metadata.resourceVersion;
            break;
          case EventType::Error: {
            const auto status = api::decodeJson<api::meta::v1::Status>(event->object);
            if (status.code == 410 || status.reason == "Expired" || status.reason == "Gone") {
              spdlog::info("informer {}: watch expired ({}), listing again", what, status.message);
              gone = true;
            } else {
              spdlog::warn("informer {}: watch error {} {}: {}", what, status.code, status.reason,
                           status.message);
              failed = true;
            }
            break;
          }
          default:
            rv = apply(event->type, event->object);
            break;
        }
        if (!rv.empty()) {
          std::lock_guard lock(mutex_);
          resourceVersion_ = rv;
        }
      } catch (const std::exception& e) {
        spdlog::warn("informer {}: bad watch event: {}", what, e.what());
      }
      maybeResync();
    }
    {
      std::lock_guard lock(mutex_);
      watch_ = nullptr;
    }
    watch->stop();
    if (const auto error = watch->error()) {
      try {
        std::rethrow_exception(error);
      } catch (const std::exception& e) {
        spdlog::warn("informer {}: watch failed: {}", what, e.what());
      }
      failed = true;
    }
    watch.reset();
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return false;
    }
    if (gone) return false;
    if (failed) return true;
    // A watch the server ends at once, again and again, must not turn into a busy loop.
    if (events == 0 && std::chrono::steady_clock::now() - started < std::chrono::seconds(1)) {
      return true;
    }
  }
}

}  // namespace kite::client
