#pragma once
// The controllers' work queue, with upstream's semantics: a key is queued at most once
// (de-duplication); a key being processed (handed out by get() and not yet done()) is not
// handed out again: added meanwhile, it is queued again when done() is called; addAfter delays
// a key; addRateLimited delays it by the rate limiter's per-key exponential back-off, which
// forget() resets after a success.
//
//   while (auto key = queue.get()) {
//     try { sync(*key); queue.forget(*key); } catch (...) { queue.addRateLimited(*key); }
//     queue.done(*key);
//   }

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>

namespace kite::client {

// Per-key exponential back-off: base * 2^(failures so far), capped at max (upstream's
// ItemExponentialFailureRateLimiter, defaults of the controllers: 5 ms to 1000 s).
class ExponentialRateLimiter {
 public:
  using Duration = std::chrono::steady_clock::duration;
  explicit ExponentialRateLimiter(Duration base = std::chrono::milliseconds(5),
                                  Duration max = std::chrono::seconds(1000));

  // The delay for this failure of key; counts it.
  Duration when(const std::string& key);
  void forget(const std::string& key);
  int numRequeues(const std::string& key) const;

 private:
  Duration base_;
  Duration max_;
  mutable std::mutex mutex_;
  std::map<std::string, int> failures_;
};

class WorkQueue {
 public:
  using Duration = std::chrono::steady_clock::duration;

  // Back-off of addRateLimited: base * 2^failures up to max.
  explicit WorkQueue(Duration backoffBase = std::chrono::milliseconds(5),
                     Duration backoffMax = std::chrono::seconds(1000));
  ~WorkQueue();
  WorkQueue(const WorkQueue&) = delete;
  WorkQueue& operator=(const WorkQueue&) = delete;

  void add(const std::string& key);
  // Adds key once `delay` has passed (at once when delay <= 0). A key waiting this way is
  // added at the earlier of its times.
  void addAfter(const std::string& key, Duration delay);
  void addRateLimited(const std::string& key);
  // Clears the key's back-off (call after it was processed successfully).
  void forget(const std::string& key);
  int numRequeues(const std::string& key) const;

  // Waits for a key; nullopt once shutDown() was called (keys still queued are dropped).
  std::optional<std::string> get();
  // Like get, but waits at most `timeout`; nullopt on timeout or shutdown.
  std::optional<std::string> getFor(Duration timeout);
  // The key returned by get() has been processed.
  void done(const std::string& key);

  // Keys ready to be handed out (not the delayed or processing ones).
  std::size_t len() const;
  // Keys waiting for their delay.
  std::size_t delayed() const;
  bool processing(const std::string& key) const;

  // Wakes every get() with nullopt; further adds are ignored.
  void shutDown();
  bool shuttingDown() const;

 private:
  void addLocked(const std::string& key);
  // Moves delayed keys whose time has come into the queue.
  void promoteLocked(std::chrono::steady_clock::time_point now);
  std::optional<std::string> take(std::unique_lock<std::mutex>& lock,
                                  std::optional<std::chrono::steady_clock::time_point> deadline);

  ExponentialRateLimiter limiter_;
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::string> queue_;
  std::set<std::string> dirty_;       // queued or to be queued once done
  std::set<std::string> processing_;  // handed out, not yet done
  std::multimap<std::chrono::steady_clock::time_point, std::string> waiting_;
  std::map<std::string, std::chrono::steady_clock::time_point> waitingAt_;
  bool shuttingDown_ = false;
};

}  // namespace kite::client
