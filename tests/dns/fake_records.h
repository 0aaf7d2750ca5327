#pragma once
// DnsRecords from plain vectors, for the resolver and server unit tests.

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "kite/dns/records.h"

namespace kite::dns::testing {

class FakeRecords : public DnsRecords {
 public:
  std::vector<ServiceRecord> services;
  std::map<std::string, std::vector<EndpointRecord>> endpointsByService;  // "ns/name"

  std::optional<ServiceRecord> service(std::string_view ns, std::string_view name) const override {
    for (const auto& s : services) {
      if (s.namespace_ == ns && s.name == name) return s;
    }
    return std::nullopt;
  }
  std::vector<EndpointRecord> endpoints(std::string_view ns,
                                        std::string_view service) const override {
    const auto it = endpointsByService.find(std::string(ns) + "/" + std::string(service));
    return it == endpointsByService.end() ? std::vector<EndpointRecord>{} : it->second;
  }
  bool hasNamespace(std::string_view ns) const override {
    return std::any_of(services.begin(), services.end(),
                       [&](const ServiceRecord& s) { return s.namespace_ == ns; });
  }
  std::vector<std::string> namesOfAddress(std::string_view ip) const override {
    std::vector<std::string> out;
    for (const auto& s : services) {
      for (const auto& c : s.clusterIPs) {
        if (c == ip) out.push_back(s.name + "." + s.namespace_ + ".svc");
      }
    }
    return out;
  }
};

// web (ClusterIP 10.96.0.10 and fd00::10, ports http/TCP 80 and dns/UDP 53 and an unnamed
// one), db (headless, endpoints db-0 10.244.0.5 and a nameless 10.244.0.6, port pg 5432),
// ext (ExternalName example.org), all in namespace "default".
inline FakeRecords sampleRecords() {
  FakeRecords r;
  r.services.push_back({.name = "web",
                        .namespace_ = "default",
                        .type = "ClusterIP",
                        .clusterIPs = {"10.96.0.10", "fd00::10"},
                        .headless = false,
                        .externalName = "",
                        .ports = {{"http", "TCP", 80}, {"dns", "UDP", 53}, {"", "TCP", 8080}}});
  r.services.push_back({.name = "db",
                        .namespace_ = "default",
                        .type = "ClusterIP",
                        .clusterIPs = {},
                        .headless = true,
                        .externalName = "",
                        .ports = {{"pg", "TCP", 5432}}});
  r.services.push_back({.name = "ext",
                        .namespace_ = "default",
                        .type = "ExternalName",
                        .clusterIPs = {},
                        .headless = false,
                        .externalName = "example.org",
                        .ports = {}});
  r.endpointsByService["default/db"] = {{"10.244.0.5", "db-0", {{"pg", "TCP", 15432}}},
                                        {"10.244.0.6", "", {{"pg", "TCP", 15432}}}};
  return r;
}

}  // namespace kite::dns::testing
