#include "kite/kubelet/node_lease.h"

#include <spdlog/spdlog.h>

#include "kite/client/client.h"
#include "kite/client/errors.h"

namespace kite::kubelet {

namespace coord = api::coordination::v1;

coord::Lease desiredLease(const NodeLeaseOptions& options, const coord::Lease& existing,
                          api::Time now) {
  coord::Lease lease = existing;
  lease.apiVersion = "coordination.k8s.io/v1";
  lease.kind = "Lease";
  lease.metadata.name = options.nodeName;
  lease.metadata.namespace_ = std::string(kNodeLeaseNamespace);
  lease.spec.holderIdentity = options.nodeName;
  lease.spec.leaseDurationSeconds = options.leaseDurationSeconds;
  lease.spec.renewTime = now;
  if (!options.nodeUID.empty()) {
    // The Node owns its Lease: deleting the Node lets the garbage collector remove it.
    api::meta::v1::OwnerReference owner;
    owner.apiVersion = "v1";
    owner.kind = "Node";
    owner.name = options.nodeName;
    owner.uid = options.nodeUID;
    lease.metadata.ownerReferences = {owner};
  }
  return lease;
}

NodeLease::NodeLease(client::Client& client, const base::Clock& clock, NodeLeaseOptions options)
    : client_(client), clock_(clock), options_(std::move(options)) {}

NodeLease::~NodeLease() { stop(); }

coord::Lease NodeLease::renewOnce() {
  const api::Time now(clock_.wallNow());
  const std::string ns(kNodeLeaseNamespace);
  if (last_) {
    try {
      last_ = client_.update(desiredLease(options_, *last_, now));
      return *last_;
    } catch (const client::ApiError& e) {
      // A stale copy (conflict) or a deleted Lease: read it again below.
      if (!e.isConflict() && !e.isNotFound()) throw;
      last_.reset();
    }
  }
  try {
    const auto current = client_.get<coord::Lease>(ns, options_.nodeName);
    last_ = client_.update(desiredLease(options_, current, now));
  } catch (const client::ApiError& e) {
    if (!e.isNotFound()) throw;
    last_ = client_.create(desiredLease(options_, {}, now));
  }
  return *last_;
}

void NodeLease::start() {
  if (thread_.joinable()) return;
  {
    std::lock_guard lock(mutex_);
    stopping_ = false;
  }
  thread_ = std::thread([this] { run(); });
}

void NodeLease::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void NodeLease::run() {
  for (;;) {
    std::chrono::milliseconds wait = options_.renewInterval;
    try {
      renewOnce();
    } catch (const std::exception& e) {
      // Retry sooner than a full interval so a short outage does not let the lease expire.
      spdlog::warn("node lease {}: {}", options_.nodeName, e.what());
      wait = std::min(wait, std::chrono::milliseconds(1000));
    }
    std::unique_lock lock(mutex_);
    if (wake_.wait_for(lock, wait, [this] { return stopping_; })) return;
  }
}

}  // namespace kite::kubelet
