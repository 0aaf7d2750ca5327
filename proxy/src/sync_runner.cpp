#include "kite/proxy/sync_runner.h"

namespace kite::proxy {

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

}  // namespace kite::proxy
