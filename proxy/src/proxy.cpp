// The proxy's controller: informers mark the state dirty; one thread syncs, batched by
// minSyncPeriod, and at least every syncPeriod (a full resync then).

#include "kite/proxy/proxy.h"

#include <spdlog/spdlog.h>

#include <optional>
#include <set>
#include <stdexcept>

#include "kite/client/informer.h"
#include "kite/proxy/cluster_cidr.h"
#include "kite/proxy/ebpf_dataplane.h"
#include "kite/proxy/health_check_servers.h"
#include "kite/proxy/nftables_dataplane.h"
#include "kite/proxy/node_addresses.h"
#include "kite/proxy/packet_filter_probe.h"
#include "kite/proxy/status_servers.h"
#include "kite/proxy/sync_metrics.h"
#include "kite/proxy/sync_runner.h"
#include "kite/proxy/topology_hints.h"
#include "kite/proxy/userspace_dataplane.h"

namespace kite::proxy {

using api::core::v1::Node;
using api::core::v1::Service;
using api::discovery::v1::EndpointSlice;
using Clock = std::chrono::steady_clock;

namespace {

void checkNodePortAddresses(const std::vector<std::string>& cidrs) {
  for (const auto& cidr : cidrs) {
    if (!isCidr(cidr)) {
      throw std::invalid_argument("--nodeport-addresses: \"" + cidr +
                                  "\" is not a CIDR (e.g. 192.168.1.0/24 or fd00::/64)");
    }
  }
}

// "namespace/name": the prefix of its ports' keys in DesiredState::services.
std::string serviceKey(const std::string& ns, const std::string& name) { return ns + "/" + name; }

// The Service an EndpointSlice belongs to, "" when it has no service-name label.
std::string serviceOf(const EndpointSlice& slice) {
  const auto it = slice.metadata.labels.find(kServiceNameLabel);
  return it == slice.metadata.labels.end() ? "" : serviceKey(slice.metadata.namespace_, it->second);
}

constexpr const char* kByService = "service";

nft::RulesOptions rulesOptions(const ProxyOptions& options) {
  const ClusterCidrs cidrs = splitClusterCidrs(options.clusterCidr);
  return nft::RulesOptions{.clusterCidr = cidrs.ipv4,
                           .nodePortAddresses = options.nodePortAddresses,
                           .clusterCidrIPv6 = cidrs.ipv6};
}

}  // namespace

std::unique_ptr<Dataplane> makeDataplane(const ProxyOptions& options) {
  checkNodePortAddresses(options.nodePortAddresses);
  if (options.ebpfLbAlgorithm != "random" && options.ebpfLbAlgorithm != "maglev") {
    throw std::invalid_argument("--ebpf-lb-algorithm: unsupported algorithm \"" +
                                options.ebpfLbAlgorithm + "\" (supported: random, maglev)");
  }
  const auto userspace = [&] {
    return std::make_unique<UserspaceDataplane>(
        UserspaceOptions{.nodePortAddresses = options.nodePortAddresses});
  };
  if (options.proxyMode == "userspace") return userspace();
  if (options.proxyMode == "nftables") {
    // As kube-proxy fell back to its userspace mode where iptables could not be used.
    if (const auto probe = probeNftables(); !probe.usable) {
      spdlog::warn("nftables is not usable here ({}): Services are forwarded in userspace",
                   probe.reason);
      return userspace();
    }
    return std::make_unique<NftablesDataplane>(rulesOptions(options));
  }
  if (options.proxyMode == "ebpf") {
    // Socket-level translation for ClusterIPs; traffic from outside (NodePort, externalIPs,
    // LoadBalancer) keeps the nftables table (ebpf/README.md says why).
    EbpfOptions ebpf;
    ebpf.northSouth = rulesOptions(options);
    // NodePorts of local clients on the node's addresses are translated at the connect too
    // (the addresses at start; one added later is served by the nftables table).
    ebpf.nodeAddresses = localNodePortAddresses(options.nodePortAddresses);
    ebpf.maglev = options.ebpfLbAlgorithm == "maglev";
    return std::make_unique<EbpfDataplane>(std::move(ebpf));
  }
  throw std::invalid_argument("--proxy-mode: unsupported mode \"" + options.proxyMode +
                              "\" (supported: nftables, ebpf, userspace)");
}

class Proxy::Impl {
 public:
  Impl(client::Client& client, ProxyOptions options, std::unique_ptr<Dataplane> dataplane,
       std::unique_ptr<RouteTable> routes)
      : options_(std::move(options)),
        dataplane_(std::move(dataplane)),
        runner_(*dataplane_),
        services_(client),
        slices_(client) {
    if (options_.hostGatewayRoutes) {
      routes_ = routes ? std::move(routes) : makeNetlinkRouteTable();
      nodes_.emplace(client);
    } else if (!options_.hostname.empty()) {
      // Only this node's zone is needed then: watch its own Node alone.
      nodes_.emplace(
          client, "",
          client::InformerOptions{.fieldSelector = "metadata.name=" + options_.hostname});
    }
    if (nodes_) {
      // Only what routes and the zone depend on: status heartbeats must not cost a sync each.
      nodes_->addEventHandler(
          {.onAdd =
               [this](const Node& n) {
                 if (routes_) markRoutesDirty();
                 if (n.metadata.name == options_.hostname) markZoneDirty();
               },
           .onUpdate =
               [this](const Node& before, const Node& after) {
                 if (routes_ && (before.spec.podCIDRs != after.spec.podCIDRs ||
                                 before.spec.podCIDR != after.spec.podCIDR ||
                                 before.status.addresses != after.status.addresses)) {
                   markRoutesDirty();
                 }
                 if (after.metadata.name == options_.hostname && zoneOf(before) != zoneOf(after)) {
                   markZoneDirty();
                 }
               },
           .onDelete =
               [this](const Node& n) {
                 if (routes_) markRoutesDirty();
                 if (n.metadata.name == options_.hostname) markZoneDirty();
               }});
    }
    // Each event names the Service it changes, so a sync recomputes and compares only those.
    const auto ofService = [](const Service& s) {
      return serviceKey(s.metadata.namespace_, s.metadata.name);
    };
    services_.addEventHandler(
        {.onAdd = [this, ofService](const Service& s) { markDirty(ofService(s)); },
         .onUpdate = [this, ofService](const Service&,
                                       const Service& s) { markDirty(ofService(s)); },
         .onDelete = [this, ofService](const Service& s) { markDirty(ofService(s)); }});
    slices_.addIndexer(kByService, [](const EndpointSlice& slice) {
      auto service = serviceOf(slice);
      return service.empty() ? std::vector<std::string>{} : std::vector<std::string>{service};
    });
    slices_.addEventHandler(
        {.onAdd = [this](const EndpointSlice& s) { markDirty(serviceOf(s)); },
         .onUpdate =
             [this](const EndpointSlice& before, const EndpointSlice& after) {
               markDirty(serviceOf(before));  // the label may have moved it
               markDirty(serviceOf(after));
             },
         .onDelete = [this](const EndpointSlice& s) { markDirty(serviceOf(s)); }});
  }
  ~Impl() { stop(); }
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  void start() {
    status_ = std::make_unique<StatusServers>(
        options_.healthzBindAddress, options_.metricsBindAddress, metrics_, options_.syncPeriod);
    services_.start();
    slices_.start();
    if (nodes_) nodes_->start();
    thread_ = std::thread([this] { run(); });
  }

  void stop() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
    services_.stop();
    slices_.stop();
    if (nodes_) nodes_->stop();
    status_.reset();
  }

  std::size_t syncCount() const {
    std::lock_guard lock(mutex_);
    return syncs_;
  }

 private:
  void markDirty(const std::string& service) {
    {
      std::lock_guard lock(mutex_);
      dirty_ = true;
      if (!service.empty()) dirtyServices_.insert(service);
    }
    cv_.notify_all();
  }

  // This node's zone changed: every Service's hinted endpoints may differ.
  void markZoneDirty() {
    {
      std::lock_guard lock(mutex_);
      zoneDirty_ = true;
      dirty_ = true;
    }
    cv_.notify_all();
  }

  static std::string zoneOf(const Node& node) {
    const auto it = node.metadata.labels.find(kZoneLabel);
    return it == node.metadata.labels.end() ? std::string() : it->second;
  }

  // This node's zone from the Node cache ("" without one).
  NodeInfo nodeInfo() const {
    NodeInfo node{.name = options_.hostname};
    if (nodes_ && !options_.hostname.empty()) {
      if (const auto self = nodes_->cache().get("", options_.hostname)) node.zone = zoneOf(*self);
    }
    return node;
  }

  void markRoutesDirty() {
    {
      std::lock_guard lock(mutex_);
      routesDirty_ = true;
      dirty_ = true;
    }
    cv_.notify_all();
  }

  void run() {
    // The first sync waits for the caches, so it never removes rules it has not seen yet.
    while (!services_.waitForSync(std::chrono::milliseconds(200)) ||
           !slices_.waitForSync(std::chrono::milliseconds(200)) ||
           (nodes_ && !nodes_->waitForSync(std::chrono::milliseconds(200)))) {
      std::lock_guard lock(mutex_);
      if (stopping_) return;
    }
    auto lastSync = Clock::now() - options_.minSyncPeriod;
    auto lastFull = Clock::now();
    std::unique_lock lock(mutex_);
    dirty_ = true;
    while (!stopping_) {
      const auto due = lastFull + options_.syncPeriod;
      cv_.wait_until(lock, due, [&] { return stopping_ || dirty_; });
      if (stopping_) break;
      // Batch: no two syncs closer than minSyncPeriod.
      const auto earliest = lastSync + options_.minSyncPeriod;
      if (Clock::now() < earliest) {
        cv_.wait_until(lock, earliest, [&] { return stopping_; });
        if (stopping_) break;
      }
      const bool full = Clock::now() >= due;
      dirty_ = false;
      const bool routes = routesDirty_ || full;
      routesDirty_ = false;
      auto changed = std::move(dirtyServices_);
      dirtyServices_.clear();
      const bool zoneChanged = zoneDirty_;
      zoneDirty_ = false;
      lock.unlock();
      syncOnce(full, changed, zoneChanged);
      if (routes_ && routes) syncNodeRoutes();
      lock.lock();
      lastSync = Clock::now();
      if (full) lastFull = lastSync;
    }
  }

  // The whole desired state from the caches (the first and the periodic full sync).
  void computeAll() {
    std::vector<Service> services;
    for (const auto& s : services_.cache().list()) services.push_back(*s);
    std::vector<EndpointSlice> slices;
    for (const auto& s : slices_.cache().list()) slices.push_back(*s);
    state_ = computeDesiredState(services, slices, nodeInfo());
  }

  // The ports of `changed` Services recomputed in state_ (a Service's ports depend on it, its
  // slices and the node's zone, whose change recomputes them all).
  void computeChanged(const std::set<std::string>& changed) {
    const auto node = nodeInfo();
    for (const auto& key : changed) {
      for (const auto& port : portKeysOf(state_, key)) state_.services.erase(port);
      const auto slash = key.find('/');
      const auto service = services_.cache().get(key.substr(0, slash), key.substr(slash + 1));
      if (!service) continue;
      std::vector<EndpointSlice> slices;
      for (const auto& s : slices_.cache().byIndex(kByService, key)) slices.push_back(*s);
      auto ports = computeDesiredState({*service}, slices, node);
      state_.services.merge(ports.services);
    }
  }

  // `recomputeAll`: every Service's state is recomputed (the node's zone changed) and compared
  // with what was applied, without forcing a full rewrite.
  void syncOnce(bool full, const std::set<std::string>& changed, bool recomputeAll) {
    // Incremental unless full: the caches' other Services are neither copied nor compared.
    const bool incremental = !full && !recomputeAll && computedOnce_;
    if (incremental) {
      computeChanged(changed);
    } else {
      computeAll();
      computedOnce_ = true;
    }
    const auto& state = state_;
    if (full) runner_.requestFullSync();
    try {
      const auto fullBefore = runner_.fullSyncs();
      const auto started = Clock::now();
      if (incremental) {
        runner_.syncServices(state, changed);
      } else {
        runner_.sync(state);
      }
      metrics_.observe(runner_.fullSyncs() != fullBefore, Clock::now() - started);
      if (options_.serveHealthCheckNodePorts) healthChecks_.sync(state);
      std::lock_guard lock(mutex_);
      ++syncs_;
    } catch (const std::exception& e) {
      spdlog::error("proxy: sync failed (the next one rewrites everything): {}", e.what());
      std::lock_guard lock(mutex_);
      dirty_ = true;
    }
  }

  void syncNodeRoutes() {
    std::vector<Node> nodes;
    for (const auto& n : nodes_->cache().list()) nodes.push_back(*n);
    try {
      if (syncRoutes(*routes_, hostGatewayRoutes(nodes, options_.hostname)) == 0) return;
    } catch (const std::exception& e) {
      spdlog::error("proxy: cannot sync the routes to other nodes' pods: {}", e.what());
    }
    std::lock_guard lock(mutex_);
    routesDirty_ = true;  // retried with the next sync
  }

  ProxyOptions options_;
  std::unique_ptr<Dataplane> dataplane_;
  SyncRunner runner_;
  // What the caches say, kept between syncs and recomputed per changed Service.
  DesiredState state_;
  bool computedOnce_ = false;
  SyncMetrics metrics_;
  HealthCheckServers healthChecks_;
  std::unique_ptr<StatusServers> status_;
  client::Informer<Service> services_;
  client::Informer<EndpointSlice> slices_;
  std::unique_ptr<RouteTable> routes_;
  std::optional<client::Informer<Node>> nodes_;

  mutable std::mutex mutex_;
  std::condition_variable cv_;
  bool stopping_ = false;
  bool dirty_ = false;
  bool routesDirty_ = true;
  bool zoneDirty_ = false;
  std::set<std::string> dirtyServices_;
  std::size_t syncs_ = 0;
  std::thread thread_;
};

Proxy::Proxy(client::Client& client, const ProxyOptions& options)
    : Proxy(client, options, makeDataplane(options)) {}

Proxy::Proxy(client::Client& client, ProxyOptions options, std::unique_ptr<Dataplane> dataplane,
             std::unique_ptr<RouteTable> routes)
    : impl_(std::make_unique<Impl>(client, std::move(options), std::move(dataplane),
                                   std::move(routes))) {}

Proxy::~Proxy() = default;

void Proxy::start() { impl_->start(); }
void Proxy::stop() { impl_->stop(); }
std::size_t Proxy::syncCount() const { return impl_->syncCount(); }

}  // namespace kite::proxy
