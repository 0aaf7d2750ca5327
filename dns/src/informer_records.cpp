// DnsRecords over Service and EndpointSlice informers.

#include "kite/dns/informer_records.h"

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "kite/api/core/v1/types.h"
#include "kite/api/discovery/v1/types.h"
#include "kite/client/informer.h"

namespace kite::dns {
namespace {

namespace core = api::core::v1;
namespace discovery = api::discovery::v1;

constexpr const char* kByNamespace = "namespace";
constexpr const char* kByClusterIP = "clusterIP";
constexpr const char* kByService = "service";
constexpr const char* kByAddress = "address";

std::string serviceKey(std::string_view ns, std::string_view name) {
  return std::string(ns) + "/" + std::string(name);
}

std::string serviceOfSlice(const discovery::EndpointSlice& slice) {
  const auto it = slice.metadata.labels.find(std::string(discovery::Label::ServiceName));
  return it == slice.metadata.labels.end() ? std::string() : it->second;
}

std::vector<std::string> clusterIPsOf(const core::Service& svc) {
  std::vector<std::string> ips = svc.spec.clusterIPs;
  if (ips.empty() && !svc.spec.clusterIP.empty()) ips.push_back(svc.spec.clusterIP);
  std::erase_if(ips, [](const std::string& ip) { return ip.empty() || ip == "None"; });
  return ips;
}

ServiceRecord toRecord(const core::Service& svc) {
  ServiceRecord r;
  r.name = svc.metadata.name;
  r.namespace_ = svc.metadata.namespace_;
  r.type = svc.spec.type.empty() ? "ClusterIP" : svc.spec.type;
  r.headless = svc.spec.clusterIP == "None";
  if (r.type != "ExternalName") r.clusterIPs = clusterIPsOf(svc);
  r.externalName = svc.spec.externalName;
  for (const auto& p : svc.spec.ports) {
    r.ports.push_back(
        {p.name, p.protocol.empty() ? "TCP" : p.protocol, static_cast<std::uint16_t>(p.port)});
  }
  return r;
}

std::vector<PortRecord> portsOf(const discovery::EndpointSlice& slice) {
  std::vector<PortRecord> out;
  for (const auto& p : slice.ports) {
    if (!p.port) continue;
    out.push_back(
        {p.name.value_or(""), p.protocol.value_or("TCP"), static_cast<std::uint16_t>(*p.port)});
  }
  return out;
}

}  // namespace

struct InformerRecords::Informers {
  explicit Informers(client::Client& c) : services(c), slices(c) {
    services.addIndexer(kByNamespace, [](const core::Service& s) {
      return std::vector<std::string>{s.metadata.namespace_};
    });
    services.addIndexer(kByClusterIP, [](const core::Service& s) {
      return s.spec.type == "ExternalName" ? std::vector<std::string>{} : clusterIPsOf(s);
    });
    slices.addIndexer(kByService, [](const discovery::EndpointSlice& s) {
      const std::string svc = serviceOfSlice(s);
      if (svc.empty()) return std::vector<std::string>{};
      return std::vector<std::string>{serviceKey(s.metadata.namespace_, svc)};
    });
    slices.addIndexer(kByAddress, [](const discovery::EndpointSlice& s) {
      std::vector<std::string> out;
      for (const auto& ep : s.endpoints)
        out.insert(out.end(), ep.addresses.begin(), ep.addresses.end());
      return out;
    });
  }
  client::Informer<core::Service> services;
  client::Informer<discovery::EndpointSlice> slices;
};

InformerRecords::InformerRecords(client::Client& client)
    : informers_(std::make_unique<Informers>(client)) {}

InformerRecords::~InformerRecords() { stop(); }

void InformerRecords::start() {
  informers_->services.start();
  informers_->slices.start();
}

void InformerRecords::stop() {
  informers_->services.stop();
  informers_->slices.stop();
}

bool InformerRecords::hasSynced() const {
  return informers_->services.hasSynced() && informers_->slices.hasSynced();
}

bool InformerRecords::waitForSync(std::chrono::milliseconds timeout) const {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  if (!informers_->services.waitForSync(timeout)) return false;
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  return informers_->slices.waitForSync(std::max(left, std::chrono::milliseconds(0)));
}

std::optional<ServiceRecord> InformerRecords::service(std::string_view ns,
                                                      std::string_view name) const {
  const auto svc = informers_->services.cache().get(ns, name);
  if (!svc) return std::nullopt;
  return toRecord(*svc);
}

std::vector<EndpointRecord> InformerRecords::endpoints(std::string_view ns,
                                                       std::string_view service) const {
  const auto svc = informers_->services.cache().get(ns, service);
  const bool publishNotReady = svc && svc->spec.publishNotReadyAddresses;
  std::vector<EndpointRecord> out;
  std::set<std::string> seen;  // an endpoint may sit in two slices while they are rebalanced
  for (const auto& slice :
       informers_->slices.cache().byIndex(kByService, serviceKey(ns, service))) {
    if (slice->addressType == discovery::AddressType::FQDN) continue;
    const auto ports = portsOf(*slice);
    for (const auto& ep : slice->endpoints) {
      // An unset ready condition means ready (discovery.k8s.io/v1 EndpointConditions).
      if (!publishNotReady && !ep.conditions.ready.value_or(true)) continue;
      for (const auto& address : ep.addresses) {
        if (!seen.insert(address).second) continue;
        out.push_back({address, ep.hostname.value_or(""), ports});
      }
    }
  }
  return out;
}

bool InformerRecords::hasNamespace(std::string_view ns) const {
  return !informers_->services.cache().byIndex(kByNamespace, std::string(ns)).empty();
}

std::vector<std::string> InformerRecords::namesOfAddress(std::string_view ip) const {
  std::set<std::string> names;
  for (const auto& svc : informers_->services.cache().byIndex(kByClusterIP, std::string(ip))) {
    names.insert(svc->metadata.name + "." + svc->metadata.namespace_ + ".svc");
  }
  for (const auto& slice : informers_->slices.cache().byIndex(kByAddress, std::string(ip))) {
    const std::string svcName = serviceOfSlice(*slice);
    if (svcName.empty()) continue;
    const auto svc = informers_->services.cache().get(slice->metadata.namespace_, svcName);
    if (!svc || svc->spec.clusterIP != "None") continue;  // only headless endpoints have names
    for (const auto& ep : slice->endpoints) {
      for (const auto& address : ep.addresses) {
        if (address != ip) continue;
        std::string label = ep.hostname.value_or("");
        if (label.empty()) {
          label = address;
          std::replace(label.begin(), label.end(), '.', '-');
          std::replace(label.begin(), label.end(), ':', '-');
        }
        label += "." + svcName;
        label += "." + slice->metadata.namespace_;
        label += ".svc";
        names.insert(std::move(label));
      }
    }
  }
  return {names.begin(), names.end()};
}

}  // namespace kite::dns
