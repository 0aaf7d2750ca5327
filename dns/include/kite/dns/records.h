#pragma once
// What the cluster DNS answers from: the Services and their ready endpoints. An interface so
// the answering logic can be tested with a fake; InformerRecords (informer_records.h) is the
// real one over the API server.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kite::dns {

struct PortRecord {
  std::string name;      // "" for an unnamed port (no SRV record)
  std::string protocol;  // TCP, UDP or SCTP
  std::uint16_t port = 0;
};

struct ServiceRecord {
  std::string name;
  std::string namespace_;
  // ClusterIP, NodePort, LoadBalancer or ExternalName.
  std::string type;
  // Empty for headless Services (clusterIP None) and ExternalName.
  std::vector<std::string> clusterIPs;
  bool headless = false;
  std::string externalName;
  std::vector<PortRecord> ports;
};

// One address of a Service's endpoints that may receive traffic (ready, or any when the
// Service publishes not-ready addresses).
struct EndpointRecord {
  std::string address;
  std::string hostname;  // endpoints[].hostname, "" when unset
  std::vector<PortRecord> ports;
};

class DnsRecords {
 public:
  virtual ~DnsRecords() = default;
  virtual std::optional<ServiceRecord> service(std::string_view ns,
                                               std::string_view name) const = 0;
  virtual std::vector<EndpointRecord> endpoints(std::string_view ns,
                                                std::string_view service) const = 0;
  // Whether any Service lives in the namespace (`<ns>.svc.<domain>` then exists as a name).
  virtual bool hasNamespace(std::string_view ns) const = 0;
  // The Services whose cluster IP is ip, and the "<hostname>.<svc>.<ns>" names of headless
  // endpoints at ip (PTR answers), as full names without the cluster domain.
  virtual std::vector<std::string> namesOfAddress(std::string_view ip) const = 0;
};

}  // namespace kite::dns
