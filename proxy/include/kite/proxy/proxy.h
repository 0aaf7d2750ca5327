#pragma once
// The Service proxy (kube-proxy's job): informers on Services and EndpointSlices feed a
// desired state that a Dataplane applies, in batched syncs at most every minSyncPeriod and at
// least every syncPeriod. The first sync (and the one after a failure) rewrites everything;
// the others write only what changed.
//
//   proxy::Proxy proxy(client, {.hostname = "node1", .clusterCidr = "10.42.0.0/16"});
//   proxy.start();   // returns at once; syncs on its own thread
//   ...
//   proxy.stop();

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "kite/client/client.h"
#include "kite/proxy/dataplane.h"

namespace kite::proxy {

struct ProxyOptions {
  std::string hostname;  // --hostname-override: this node's name
  std::string proxyMode = "nftables";
  std::string clusterCidr;  // --cluster-cidr: traffic from outside is masqueraded
  std::chrono::milliseconds syncPeriod{30'000};    // --sync-period
  std::chrono::milliseconds minSyncPeriod{1'000};  // --min-sync-period
};

// The backend for options.proxyMode; throws std::invalid_argument for an unknown mode.
std::unique_ptr<Dataplane> makeDataplane(const ProxyOptions& options);

class Proxy {
 public:
  // With the backend of options.proxyMode.
  Proxy(client::Client& client, const ProxyOptions& options);
  // With a given backend (tests).
  Proxy(client::Client& client, ProxyOptions options, std::unique_ptr<Dataplane> dataplane);
  ~Proxy();
  Proxy(const Proxy&) = delete;
  Proxy& operator=(const Proxy&) = delete;

  void start();
  // Stops the informers and the sync thread; the rules stay (as kube-proxy's do).
  void stop();
  // Syncs done so far (successful ones).
  std::size_t syncCount() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace kite::proxy
