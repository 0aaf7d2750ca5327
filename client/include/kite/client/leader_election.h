#pragma once
// Leader election through a coordination.k8s.io/v1 Lease, as upstream's leaderelection
// package: candidates try to create or take over the lease every retryPeriod; the holder
// renews it and steps down when it could not renew within renewDeadline. A lease is taken
// over when its record has not changed for leaseDuration as seen on this candidate's own
// clock (no trust in the other machine's clock), or at once when its holder released it.
//
//   client::LeaderElector elector(c, {.leaseNamespace = "kube-system",
//                                     .leaseName = "kite-scheduler",
//                                     .identity = hostname,
//                                     .onStartedLeading = [&] { scheduler.start(); },
//                                     .onStoppedLeading = [&] { scheduler.stop(); }});
//   elector.start();

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "kite/api/coordination/v1/types.h"
#include "kite/base/clock.h"
#include "kite/client/client.h"

namespace kite::client {

struct LeaderElectionConfig {
  std::string leaseNamespace = "kube-system";
  std::string leaseName{};
  // Unique per candidate (host name plus a random suffix, as upstream components do).
  std::string identity{};
  std::chrono::seconds leaseDuration{15};
  std::chrono::milliseconds renewDeadline{10'000};
  std::chrono::milliseconds retryPeriod{2'000};
  // Give the lease up (holder cleared) when stopping as leader, so another candidate takes
  // over at once instead of after leaseDuration.
  bool releaseOnCancel = true;
  // Called on the elector's thread; they must return quickly (start work on other threads).
  std::function<void()> onStartedLeading{};
  std::function<void()> onStoppedLeading{};
  // A (new) holder was observed, possibly this candidate.
  std::function<void(const std::string& identity)> onNewLeader{};
};

class LeaderElector {
 public:
  // Throws std::invalid_argument for an incomplete configuration (no name or identity,
  // leaseDuration <= renewDeadline, renewDeadline <= retryPeriod).
  LeaderElector(Client& client, LeaderElectionConfig config,
                const base::Clock& clock = base::realClock());
  ~LeaderElector();
  LeaderElector(const LeaderElector&) = delete;
  LeaderElector& operator=(const LeaderElector&) = delete;

  // Runs the election on its own thread until stop(). After losing the lease it campaigns
  // again.
  void start();
  // Stops campaigning; releases the lease when leading (and releaseOnCancel).
  void stop();

  bool isLeader() const;
  // The holder last observed ("" when none).
  std::string leader() const;

  // One attempt to create, take over or renew the lease; true when this candidate holds it
  // afterwards. Failures of the API (conflicts, lost connection) count as false.
  bool tryAcquireOrRenew();
  // Clears the holder when this candidate holds the lease; true when it did.
  bool release();

 private:
  void run();
  bool waitFor(std::chrono::milliseconds d);
  // Records the lease as seen now (the expiry clock restarts when its record changed).
  void observe(const api::coordination::v1::Lease& lease);

  Client& client_;
  LeaderElectionConfig config_;
  const base::Clock& clock_;

  mutable std::mutex mutex_;
  std::condition_variable cv_;
  bool stopping_ = false;
  bool leading_ = false;
  std::optional<api::coordination::v1::Lease> observed_;
  base::Clock::Monotonic observedAt_{};
  std::string observedHolder_;
  std::thread thread_;
};

}  // namespace kite::client
