#include "store_informer.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

namespace kite::controlplane::auth {

StoreInformer::StoreInformer(Store& store, std::string prefix, Handlers handlers)
    : store_(store), prefix_(std::move(prefix)), handlers_(std::move(handlers)) {
  // A compaction between the list and the watch is retried at once; other failures are the
  // caller's.
  for (int attempt = 1;; ++attempt) {
    try {
      listAndWatch();
      break;
    } catch (const StoreError& e) {
      if (e.code() != StoreErrorCode::kCompacted || attempt == 3) throw;
    }
  }
  thread_ = std::thread([this] { run(); });
}

StoreInformer::~StoreInformer() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  thread_.join();
  watch_.reset();
}

int StoreInformer::lists() const {
  std::lock_guard lock(mutex_);
  return lists_;
}

void StoreInformer::listAndWatch() {
  RangeRequest request;
  request.prefix = prefix_;
  const RangeResult listed = store_.range(request);
  handlers_.replaceAll(listed.items);
  {
    std::lock_guard lock(mutex_);
    ++lists_;
    watchEnded_ = false;
  }
  WatchCallbacks callbacks;
  callbacks.onEvents = [this](const std::vector<WatchEvent>& events) { handlers_.apply(events); };
  callbacks.onError = [this](const StoreError& e) {
    spdlog::info("watch of {} ended ({}); listing again", prefix_, e.what());
    {
      std::lock_guard lock(mutex_);
      watchEnded_ = true;
    }
    changed_.notify_all();
  };
  watch_ = store_.watch(prefix_, listed.revision, std::move(callbacks));
}

void StoreInformer::run() {
  // The watch cannot be replaced from its own callback (its destructor waits for the
  // callbacks), so relisting happens here.
  auto backoff = std::chrono::milliseconds(100);
  std::unique_lock lock(mutex_);
  while (true) {
    changed_.wait(lock, [this] { return stopping_ || watchEnded_; });
    if (stopping_) return;
    lock.unlock();
    watch_.reset();
    bool ok = false;
    try {
      listAndWatch();
      ok = true;
    } catch (const StoreError& e) {
      spdlog::warn("listing {} failed: {}", prefix_, e.what());
    }
    lock.lock();
    if (ok) {
      backoff = std::chrono::milliseconds(100);
      continue;
    }
    watchEnded_ = true;  // still without a watch: try again after the back-off
    if (changed_.wait_for(lock, backoff, [this] { return stopping_; })) return;
    backoff = std::min(backoff * 2, std::chrono::milliseconds(5000));
  }
}

}  // namespace kite::controlplane::auth
