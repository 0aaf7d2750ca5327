#pragma once
// The node's heartbeat: the Lease kube-node-lease/NAME, held by the node, renewed every
// renewInterval, owned by the Node so it goes when the Node goes.

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "kite/api/coordination/v1/types.h"
#include "kite/base/clock.h"

namespace kite::client {
class Client;
}

namespace kite::kubelet {

inline constexpr std::string_view kNodeLeaseNamespace = "kube-node-lease";

struct NodeLeaseOptions {
  std::string nodeName;
  std::string nodeUID;  // the owner reference; "" leaves it out
  int32_t leaseDurationSeconds = 40;
  std::chrono::milliseconds renewInterval{10000};
};

// The Lease the node wants: holder, duration, renewTime `now`, the Node as owner. Other fields
// of `existing` (metadata, acquireTime) are kept.
api::coordination::v1::Lease desiredLease(const NodeLeaseOptions& options,
                                          const api::coordination::v1::Lease& existing,
                                          api::Time now);

class NodeLease {
 public:
  NodeLease(client::Client& client, const base::Clock& clock, NodeLeaseOptions options);
  ~NodeLease();
  NodeLease(const NodeLease&) = delete;
  NodeLease& operator=(const NodeLease&) = delete;

  // One renewal: update the Lease (create it when missing). Throws on API failures.
  api::coordination::v1::Lease renewOnce();
  // Renews every renewInterval (sooner after a failure) until stop().
  void start();
  void stop();

 private:
  void run();

  client::Client& client_;
  const base::Clock& clock_;
  NodeLeaseOptions options_;
  std::optional<api::coordination::v1::Lease> last_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace kite::kubelet
