#pragma once
// The sync policy between a desired state and a Dataplane: the first sync and the one after
// a failure are full, the others incremental; a sync that changes nothing writes nothing.
// When the caller knows which Services changed (the Proxy's informers do), only their ports
// are compared and handed to the Dataplane, so an endpoint change costs the same at any N.

#include <cstddef>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "kite/proxy/dataplane.h"

namespace kite::proxy {

class SyncRunner {
 public:
  explicit SyncRunner(Dataplane& dataplane) : dataplane_(dataplane) {}
  // Applies `next`; rethrows the backend's error (the next sync is then full).
  void sync(const DesiredState& next);
  // The same when `next` differs from the last state applied at most in the ports of
  // `services` ("namespace/name"): only those are compared and copied.
  void syncServices(const DesiredState& next, const std::set<std::string>& services);
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

// The keys of DesiredState::services that belong to the Service "namespace/name".
std::vector<std::string> portKeysOf(const DesiredState& state, const std::string& service);

}  // namespace kite::proxy
