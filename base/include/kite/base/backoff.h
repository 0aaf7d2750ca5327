#pragma once
// Per-key exponential back-off, as the kubelet uses it for image pulls and
// crashing containers: the first failure waits `initial`, each further one
// doubles up to `max`, and a key left alone for 2 x max starts over (so a
// container that ran fine for 10 minutes restarts after 10 s again).

#include <chrono>
#include <map>
#include <mutex>
#include <string>

#include "kite/base/clock.h"

namespace kite::base {

class Backoff {
 public:
  using Duration = std::chrono::steady_clock::duration;

  Backoff(const Clock& clock, Duration initial, Duration max);

  // Records a failure of `key` now and returns the back-off that now applies.
  Duration next(const std::string& key);
  // Current back-off of `key` (zero if it has none).
  Duration get(const std::string& key) const;
  // True while less than the current back-off has passed since `since`.
  bool isInBackoffSince(const std::string& key, Clock::Monotonic since) const;
  // True while less than the current back-off has passed since the last failure.
  bool isInBackoffSinceUpdate(const std::string& key) const;
  void reset(const std::string& key);
  // Forgets keys untouched for 2 x max, so the map does not grow forever.
  void gc();

 private:
  struct Entry {
    Duration backoff;
    Clock::Monotonic lastUpdate;
  };
  bool expired(const Entry& entry, Clock::Monotonic now) const;

  const Clock& clock_;
  Duration initial_;
  Duration max_;
  mutable std::mutex mutex_;
  std::map<std::string, Entry> entries_;
};

}  // namespace kite::base
