#pragma once
// The sync policy between a desired state and a Dataplane: the first sync and the one after
// a failure are full, the others incremental; a sync that changes nothing writes nothing.

#include <cstddef>
#include <optional>

#include "kite/proxy/dataplane.h"

namespace kite::proxy {

class SyncRunner {
 public:
  explicit SyncRunner(Dataplane& dataplane) : dataplane_(dataplane) {}
  // Applies `next`; rethrows the backend's error (the next sync is then full).
  void sync(const DesiredState& next);
  // Forces the next sync to be full (the periodic resync).
  void requestFullSync() { applied_.reset(); }
  std::size_t fullSyncs() const { return fullSyncs_; }
  std::size_t incrementalSyncs() const { return incrementalSyncs_; }

 private:
  Dataplane& dataplane_;
  std::optional<DesiredState> applied_;
  std::size_t fullSyncs_ = 0;
  std::size_t incrementalSyncs_ = 0;
};

}  // namespace kite::proxy
