#pragma once
// The seam between the proxy's sync logic and the kernel: a backend that makes the node's
// packet path match a DesiredState. nftables now; eBPF and userspace forwarding may follow.
// Tests use a fake that records the calls.

#include <string>
#include <vector>

#include "kite/proxy/desired_state.h"

namespace kite::proxy {

class Dataplane {
 public:
  virtual ~Dataplane() = default;
  // Replaces everything the proxy owns with `state` (start, and after a failed sync).
  virtual void syncAll(const DesiredState& state) = 0;
  // Writes only what differs between `applied` (what the last sync wrote) and `next`.
  virtual void syncChanges(const DesiredState& applied, const DesiredState& next) = 0;
  // As syncChanges, told which Service ports may differ: `keys` (of DesiredState::services,
  // in either state or both) name every port that may, so a backend need not compare the
  // others. The default compares everything.
  virtual void syncChangedKeys(const DesiredState& applied, const DesiredState& next,
                               const std::vector<std::string>& keys) {
    (void)keys;
    syncChanges(applied, next);
  }
  // Removes everything the proxy ever wrote (`kite proxy --cleanup`).
  virtual void cleanup() = 0;
};

}  // namespace kite::proxy
