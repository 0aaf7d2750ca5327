#pragma once
// The `kube-system/kube-dns` Service that pods' resolv.conf names (the kubelet's
// --cluster-dns), kept by `kite server`. Every agent answers DNS on its node's address
// (dns_server.h), so the Service has no selector: its EndpointSlice `kube-dns-nodes` lists
// every Node's InternalIP (ready while the Node is Ready), and the Service proxy carries the
// cluster IP to them. internalTrafficPolicy Local keeps a pod's queries on its own node once
// the proxy honours it.
//
//   kite::dns::KubeDnsService kubeDns(adminClient, {.clusterIP = clusterDnsIP("10.43.0.0/16")});
//   kubeDns.start();   // returns at once; applies, and re-applies when Nodes change
//   ...
//   kubeDns.stop();    // before the client is destroyed

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "kite/client/client.h"

namespace kite::dns {

// The 10th address of an IPv4 service range ("10.43.0.0/16" -> "10.43.0.10"), k3s's and
// kubeadm's choice for the DNS Service. Throws std::invalid_argument naming the range when it
// is not IPv4 CIDR notation or too small.
std::string clusterDnsIP(std::string_view serviceCidr);

struct KubeDnsServiceOptions {
  std::string clusterIP = "10.43.0.10";
  // Failed writes are tried again after this long; everything is re-applied this often too
  // (someone may have deleted the Service).
  std::chrono::milliseconds retryPeriod{2000};
  std::chrono::milliseconds resyncPeriod{60'000};
};

// One node's DNS endpoint, as the EndpointSlice lists it.
struct DnsNodeEndpoint {
  std::string nodeName;
  std::string address;
  bool ready = false;
  bool operator==(const DnsNodeEndpoint&) const = default;
};

// The apply bodies (JSON), public for tests.
std::string kubeDnsServiceJson(const std::string& clusterIP);
std::string kubeDnsSliceJson(const std::vector<DnsNodeEndpoint>& endpoints);

class KubeDnsService {
 public:
  KubeDnsService(client::Client& client, KubeDnsServiceOptions options);
  ~KubeDnsService();
  KubeDnsService(const KubeDnsService&) = delete;
  KubeDnsService& operator=(const KubeDnsService&) = delete;

  void start();
  // Joins the thread; idempotent. The Service and its slice stay.
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace kite::dns
