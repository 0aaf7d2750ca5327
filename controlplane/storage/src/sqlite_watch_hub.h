#pragma once
// Fans committed events out to the SQLite store's watches and runs their callbacks on the
// hub's own threads.
//
// The writer publishes each transaction's events after commit, in revision order, as one
// batch per watch. A watch from a past revision registers first (from then on it collects
// live events, held back), then reads the history up to the revision it registered at and
// hands it over with start(): the history goes out before the held-back live events, so an
// event racing with the replay is neither missed nor sent twice.

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "kite/controlplane/store.h"

namespace kite::controlplane::sqlite {

class WatchHub : public std::enable_shared_from_this<WatchHub> {
 public:
  struct Watcher;

  WatchHub(int threads, Revision published);
  ~WatchHub();
  WatchHub(const WatchHub&) = delete;
  WatchHub& operator=(const WatchHub&) = delete;

  // Registers a watch; it collects live events after `afterRevision` but delivers nothing
  // until start(). Returns it with the revision up to which events were already published:
  // the caller replays history up to there.
  std::pair<std::shared_ptr<Watcher>, Revision> add(std::string prefix, Revision afterRevision,
                                                    WatchCallbacks callbacks);
  // Delivers `history` (events up to the revision add() returned), then the live events.
  void start(const std::shared_ptr<Watcher>& watcher, std::vector<WatchEvent> history);
  // Cancels: once this returns no callback of the watch runs (called from the watch's own
  // callback, none runs after that callback returns).
  void remove(const std::shared_ptr<Watcher>& watcher);

  // One committed transaction's events (ascending revisions), `revision` its last.
  void publish(Revision revision, const std::vector<WatchEvent>& events);

  // Ends every watch with `error` (after their pending events) and stops the threads.
  void close(const StoreError& error);

 private:
  void run();
  void schedule(const std::shared_ptr<Watcher>& watcher);  // mutex_ held

  mutable std::mutex mutex_;
  std::condition_variable work_;
  std::condition_variable idle_;
  std::vector<std::shared_ptr<Watcher>> watchers_;
  std::deque<std::shared_ptr<Watcher>> ready_;
  Revision published_;
  bool closing_ = false;
  std::vector<std::thread> threads_;
};

// The Watch handed to callers: cancels its watcher when destroyed.
class HubWatch : public Watch {
 public:
  HubWatch(std::shared_ptr<WatchHub> hub, std::shared_ptr<WatchHub::Watcher> watcher)
      : hub_(std::move(hub)), watcher_(std::move(watcher)) {}
  ~HubWatch() override { hub_->remove(watcher_); }
  HubWatch(const HubWatch&) = delete;
  HubWatch& operator=(const HubWatch&) = delete;

 private:
  std::shared_ptr<WatchHub> hub_;
  std::shared_ptr<WatchHub::Watcher> watcher_;
};

}  // namespace kite::controlplane::sqlite
