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
#include <vector>

#include "kite/client/client.h"
#include "kite/proxy/dataplane.h"
#include "kite/proxy/node_routes.h"

namespace kite::proxy {

struct ProxyOptions {
  std::string hostname;  // --hostname-override: this node's name
  std::string proxyMode = "nftables";
  // --cluster-cidr: traffic from outside is masqueraded; "V4,V6" for dual-stack (cluster_cidr.h)
  std::string clusterCidr;
  std::chrono::milliseconds syncPeriod{30'000};    // --sync-period
  std::chrono::milliseconds minSyncPeriod{1'000};  // --min-sync-period
  // --flannel-backend=host-gw: routes to the other nodes' pod CIDRs via their InternalIPs
  // (node_routes.h), kept in step with the Nodes by an informer.
  bool hostGatewayRoutes = false;
  // --nodeport-addresses: CIDRs (IPv4, IPv6 or both) of the local addresses NodePorts answer
  // on, per family; a family with none answers on all its addresses (127.0.0.1 included).
  std::vector<std::string> nodePortAddresses{};
  // --healthz-bind-address / --metrics-bind-address ("HOST:PORT"); empty: not served. `kite
  // proxy` and the agent default them to kube-proxy's 0.0.0.0:10256 and 127.0.0.1:10249.
  std::string healthzBindAddress{};
  std::string metricsBindAddress{};
  // Serve the healthCheckNodePorts of externalTrafficPolicy Local Services.
  bool serveHealthCheckNodePorts = true;
  // --ebpf-lb-algorithm (ebpf mode): "random" backend per connect, or "maglev" consistent
  // hashing of the client.
  std::string ebpfLbAlgorithm = "random";
};

// The backend for options.proxyMode; throws std::invalid_argument for an unknown mode or a
// malformed --nodeport-addresses entry.
std::unique_ptr<Dataplane> makeDataplane(const ProxyOptions& options);

class Proxy {
 public:
  // With the backend of options.proxyMode.
  Proxy(client::Client& client, const ProxyOptions& options);
  // With a given backend and, for hostGatewayRoutes, route table (tests; null: netlink).
  Proxy(client::Client& client, ProxyOptions options, std::unique_ptr<Dataplane> dataplane,
        std::unique_ptr<RouteTable> routes = nullptr);
  ~Proxy();
  Proxy(const Proxy&) = delete;
  Proxy& operator=(const Proxy&) = delete;

  // Throws std::invalid_argument for a malformed --healthz/--metrics-bind-address.
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
