#pragma once
// The cluster controllers `kite server` runs (kube-controller-manager's and the API server's
// own loops that keep the cluster's plumbing in place):
//  - serviceaccount: a `default` ServiceAccount in every namespace;
//  - root-ca-cert-publisher: the ConfigMap kube-root-ca.crt (key ca.crt) in every namespace;
//  - kubernetes-service: the `kubernetes` Service in `default`, its Endpoints and EndpointSlice;
//  - endpointslice: EndpointSlices and the legacy Endpoints of Services with a selector;
//  - node-lifecycle: Ready=Unknown for nodes whose Lease is not renewed, the not-ready and
//    unreachable taints, and eviction of pods that do not tolerate a NoExecute taint;
//  - node-ipam: spec.podCIDR(s) per node from the cluster CIDR;
//  - persistentvolume-binder: PV/PVC binding, reclaim, and the local-path provisioner;
//  - service-lb: status.loadBalancer.ingress of LoadBalancer Services = the nodes' InternalIPs.
//
//   auto controllers = makeClusterControllers(client, options);
//   for (auto& c : controllers) c->start();

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "kite/client/client.h"
#include "kite/client/shared_informers.h"
#include "kite/controlplane/controllers/controller.h"

namespace kite::controlplane::controllers {

struct ClusterControllerOptions {
  // Pod CIDRs are carved out of this range, one /nodeCidrMaskSize per node.
  std::string clusterCidr = "10.42.0.0/16";
  int nodeCidrMaskSize = 24;
  // The `kubernetes` Service gets the first IP of this range.
  std::string serviceCidr = "10.43.0.0/16";
  // PEM of the CA clients verify the API server with (published as kube-root-ca.crt).
  std::string rootCaPem;
  // Where the `kubernetes` Service's endpoints point.
  std::string apiserverAddress = "127.0.0.1";
  int apiserverPort = 6443;
  // A node whose Lease is not renewed for this long is Unknown.
  std::chrono::milliseconds nodeMonitorGracePeriod{40'000};
  // How often nodes are checked.
  std::chrono::milliseconds nodeMonitorPeriod{5'000};
  // The tolerationSeconds the not-ready/unreachable tolerations default to (admission); here
  // for completeness of the options upstream has.
  std::chrono::seconds podEvictionTimeout{300};
  // The local-path provisioner's base folder on the nodes.
  std::string localPathDir = "/var/lib/kite/storage";
  // The image of the helper pods that remove a deleted local-path volume's data on its node.
  std::string localPathHelperImage = "busybox:1.35";
  // Informers wait this long for their first list.
  std::chrono::milliseconds syncTimeout{60'000};
};

// Every cluster controller, not started, reading through `informers` (shared with the
// workload controllers when the caller passes the same). The client must outlive them.
std::vector<std::unique_ptr<Controller>> makeClusterControllers(
    client::Client& client, const std::shared_ptr<client::SharedInformers>& informers,
    const ClusterControllerOptions& options);
// The same, with shared informers of their own.
std::vector<std::unique_ptr<Controller>> makeClusterControllers(
    client::Client& client, const ClusterControllerOptions& options);

}  // namespace kite::controlplane::controllers
