#include "kite/base/backoff.h"

#include <algorithm>

namespace kite::base {

Backoff::Backoff(const Clock& clock, Duration initial, Duration max)
    : clock_(clock), initial_(initial), max_(max) {}

bool Backoff::expired(const Entry& entry, Clock::Monotonic now) const {
  return now - entry.lastUpdate > 2 * max_;
}

Backoff::Duration Backoff::next(const std::string& key) {
  std::lock_guard lock(mutex_);
  const auto now = clock_.now();
  auto it = entries_.find(key);
  if (it == entries_.end() || expired(it->second, now)) {
    entries_[key] = Entry{initial_, now};
    return initial_;
  }
  it->second.backoff = std::min(it->second.backoff * 2, max_);
  it->second.lastUpdate = now;
  return it->second.backoff;
}

Backoff::Duration Backoff::get(const std::string& key) const {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(key);
  return it == entries_.end() ? Duration::zero() : it->second.backoff;
}

bool Backoff::isInBackoffSince(const std::string& key, Clock::Monotonic since) const {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(key);
  if (it == entries_.end()) return false;
  const auto now = clock_.now();
  if (expired(it->second, now)) return false;
  return now - since < it->second.backoff;
}

bool Backoff::isInBackoffSinceUpdate(const std::string& key) const {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(key);
  if (it == entries_.end()) return false;
  const auto now = clock_.now();
  return !expired(it->second, now) && now - it->second.lastUpdate < it->second.backoff;
}

void Backoff::reset(const std::string& key) {
  std::lock_guard lock(mutex_);
  entries_.erase(key);
}

void Backoff::gc() {
  std::lock_guard lock(mutex_);
  const auto now = clock_.now();
  std::erase_if(entries_, [&](const auto& kv) { return expired(kv.second, now); });
}

}  // namespace kite::base
