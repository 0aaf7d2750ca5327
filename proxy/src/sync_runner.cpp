#include "kite/proxy/sync_runner.h"

#include <algorithm>

namespace kite::proxy {

std::vector<std::string> portKeysOf(const DesiredState& state, const std::string& service) {
  // Keys are "namespace/name:port/protocol[/ipv6]": a Service's ports are adjacent in the map.
  const std::string prefix = service + ":";
  std::vector<std::string> keys;
  for (auto it = state.services.lower_bound(prefix);
       it != state.services.end() && it->first.starts_with(prefix); ++it) {
    keys.push_back(it->first);
  }
  return keys;
}

void SyncRunner::sync(const DesiredState& next) {
  if (!applied_) {
    dataplane_.syncAll(next);
    ++fullSyncs_;
  } else {
    if (*applied_ == next) return;
    auto previous = std::move(*applied_);
    applied_.reset();  // a failure below leaves the next sync full
    dataplane_.syncChanges(previous, next);
    ++incrementalSyncs_;
  }
  applied_ = next;
}

void SyncRunner::syncServices(const DesiredState& next, const std::set<std::string>& services) {
  if (!applied_) {
    sync(next);
    return;
  }
  std::vector<std::string> keys;
  for (const auto& service : services) {
    for (const DesiredState* state : {static_cast<const DesiredState*>(&*applied_), &next}) {
      for (auto& key : portKeysOf(*state, service)) {
        const auto a = applied_->services.find(key);
        const auto n = next.services.find(key);
        const bool same =
            a != applied_->services.end() && n != next.services.end() && a->second == n->second;
        if (!same) keys.push_back(std::move(key));
      }
    }
  }
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  if (keys.empty()) return;
  try {
    dataplane_.syncChangedKeys(*applied_, next, keys);
  } catch (...) {
    applied_.reset();  // the next sync is full
    throw;
  }
  ++incrementalSyncs_;
  for (const auto& key : keys) {
    const auto n = next.services.find(key);
    if (n == next.services.end()) {
      applied_->services.erase(key);
    } else {
      applied_->services.insert_or_assign(key, n->second);
    }
  }
}

}  // namespace kite::proxy
