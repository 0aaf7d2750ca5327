#pragma once
// NetworkPolicy enforcement on this node: informers on NetworkPolicies, Pods and Namespaces
// feed netpol::computeState; the rules (network_policy_rules.h) go into
// `table inet kite-netpol` in batched syncs at most every minSyncPeriod. The first sync (and
// the one after a failure, and one every syncPeriod) rewrites the whole table; the others
// write only what changed (labels, pods and namespaces coming and going included).
//
//   proxy::NetworkPolicyController npc(client, {.nodeName = "node1"});
//   npc.start();   // returns at once; syncs on its own thread
//   ...
//   npc.stop();    // the rules stay, as the proxy's do; cleanup() removes them

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "kite/client/client.h"

namespace kite::proxy {

struct NetworkPolicyControllerOptions {
  std::string nodeName;  // only this node's pods are enforced here
  std::chrono::milliseconds minSyncPeriod{1'000};
  std::chrono::milliseconds syncPeriod{30'000};  // full resync
  // Applies nft commands as one transaction; unset: libnftables in the calling process's
  // network namespace (tests record the text instead).
  std::function<void(const std::string& commands)> apply;
};

class NetworkPolicyController {
 public:
  NetworkPolicyController(client::Client& client, NetworkPolicyControllerOptions options);
  ~NetworkPolicyController();
  NetworkPolicyController(const NetworkPolicyController&) = delete;
  NetworkPolicyController& operator=(const NetworkPolicyController&) = delete;

  void start();
  // Stops the informers and the sync thread; the rules stay.
  void stop();
  // Successful syncs so far.
  std::size_t syncCount() const;
  // Removes `table inet kite-netpol` (no API server needed).
  static void cleanup();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace kite::proxy
