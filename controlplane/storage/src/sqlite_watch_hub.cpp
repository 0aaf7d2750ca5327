#include "sqlite_watch_hub.h"

#include <algorithm>

namespace kite::controlplane::sqlite {

// Everything but the immutable fields is guarded by the hub's mutex.
struct WatchHub::Watcher {
  std::string prefix;
  Revision after = 0;
  WatchCallbacks callbacks;
  std::deque<std::vector<WatchEvent>> pending;
  std::optional<StoreError> error;
  bool started = false;
  bool queued = false;
  bool running = false;
  bool cancelled = false;
};

namespace {

// The watcher whose callbacks this hub thread is running (a callback may cancel other
// watches, and must not wait for itself).
thread_local const WatchHub::Watcher* runningHere = nullptr;

// History goes out in batches of about this many events, each ending on a revision boundary.
constexpr std::size_t kReplayBatch = 512;

}  // namespace

WatchHub::WatchHub(int threads, Revision published) : published_(published) {
  for (int i = 0; i < std::max(1, threads); ++i) {
    threads_.emplace_back([this] { run(); });
  }
}

WatchHub::~WatchHub() { close(StoreError(StoreErrorCode::kUnavailable, "store closed")); }

std::pair<std::shared_ptr<WatchHub::Watcher>, Revision> WatchHub::add(std::string prefix,
                                                                      Revision afterRevision,
                                                                      WatchCallbacks callbacks) {
  auto watcher = std::make_shared<Watcher>();
  watcher->prefix = std::move(prefix);
  watcher->after = afterRevision;
  watcher->callbacks = std::move(callbacks);
  std::lock_guard lock(mutex_);
  if (closing_) {
    throw StoreError(StoreErrorCode::kUnavailable, "watch: the store is closing");
  }
  watchers_.push_back(watcher);
  return {watcher, published_};
}

void WatchHub::start(const std::shared_ptr<Watcher>& watcher, std::vector<WatchEvent> history) {
  std::deque<std::vector<WatchEvent>> batches;
  std::vector<WatchEvent> batch;
  for (std::size_t i = 0; i < history.size(); ++i) {
    batch.push_back(std::move(history[i]));
    bool boundary =
        i + 1 == history.size() || history[i + 1].kv.modRevision != batch.back().kv.modRevision;
    if (boundary && batch.size() >= kReplayBatch) {
      batches.push_back(std::move(batch));
      batch.clear();
    }
  }
  if (!batch.empty()) {
    batches.push_back(std::move(batch));
  }
  std::lock_guard lock(mutex_);
  // History first, then what was published since add().
  for (auto& live : watcher->pending) {
    batches.push_back(std::move(live));
  }
  watcher->pending = std::move(batches);
  watcher->started = true;
  schedule(watcher);
}

void WatchHub::remove(const std::shared_ptr<Watcher>& watcher) {
  std::unique_lock lock(mutex_);
  watcher->cancelled = true;
  watcher->pending.clear();
  std::erase(watchers_, watcher);
  if (runningHere == watcher.get()) {
    return;  // cancelled from its own callback: nothing runs after that callback returns
  }
  idle_.wait(lock, [&] { return !watcher->running; });
}

void WatchHub::publish(Revision revision, const std::vector<WatchEvent>& events) {
  std::lock_guard lock(mutex_);
  published_ = std::max(published_, revision);
  for (const auto& watcher : watchers_) {
    std::vector<WatchEvent> mine;
    for (const auto& event : events) {
      if (event.kv.modRevision > watcher->after && event.kv.key.starts_with(watcher->prefix)) {
        mine.push_back(event);
      }
    }
    if (!mine.empty()) {
      watcher->pending.push_back(std::move(mine));
      schedule(watcher);
    }
  }
}

void WatchHub::close(const StoreError& error) {
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(mutex_);
    if (!closing_) {
      closing_ = true;
      for (const auto& watcher : watchers_) {
        watcher->error = error;
        watcher->started = true;
        schedule(watcher);
      }
    }
    threads.swap(threads_);
  }
  work_.notify_all();
  for (auto& thread : threads) {
    thread.join();
  }
}

void WatchHub::schedule(const std::shared_ptr<Watcher>& watcher) {
  if (watcher->started && !watcher->queued && !watcher->running && !watcher->cancelled) {
    watcher->queued = true;
    ready_.push_back(watcher);
    work_.notify_one();
  }
}

void WatchHub::run() {
  std::unique_lock lock(mutex_);
  while (true) {
    work_.wait(lock, [&] { return !ready_.empty() || closing_; });
    if (ready_.empty()) {
      return;  // closing, and every watch has had its events and its error
    }
    std::shared_ptr<Watcher> watcher = std::move(ready_.front());
    ready_.pop_front();
    watcher->queued = false;
    if (watcher->cancelled) {
      continue;
    }
    watcher->running = true;
    std::deque<std::vector<WatchEvent>> batches;
    batches.swap(watcher->pending);
    std::optional<StoreError> error;
    if (watcher->error) {
      error.swap(watcher->error);
    }
    lock.unlock();
    runningHere = watcher.get();
    // A callback's exception has nowhere to go; it must not take the hub's thread down.
    try {
      for (const auto& batch : batches) {
        if (watcher->callbacks.onEvents) {
          watcher->callbacks.onEvents(batch);
        }
      }
      if (error && watcher->callbacks.onError) {
        watcher->callbacks.onError(*error);
      }
    } catch (...) {  // NOLINT(bugprone-empty-catch)
    }
    runningHere = nullptr;
    lock.lock();
    watcher->running = false;
    if (error) {
      watcher->cancelled = true;  // ended for good
      std::erase(watchers_, watcher);
    } else if (!watcher->pending.empty() || watcher->error) {
      schedule(watcher);
    }
    idle_.notify_all();
  }
}

}  // namespace kite::controlplane::sqlite
