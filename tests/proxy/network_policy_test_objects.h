#pragma once
// Pods, Namespaces and NetworkPolicies for the NetworkPolicy state tests, from short YAML.

#include <string>
#include <vector>

#include "kite/api/core/v1/types.h"
#include "kite/api/json.h"
#include "kite/api/networking/v1/types.h"

namespace kite::proxy::netpol::testing {

using api::core::v1::Namespace;
using api::core::v1::Pod;
using api::networking::v1::NetworkPolicy;

inline Pod pod(const std::string& ns, const std::string& name, const std::string& ip,
               const std::string& labels, const std::string& node = "n1",
               const std::string& ports = "[]") {
  return api::decodeYaml<Pod>("metadata: {namespace: " + ns + ", name: " + name +
                              ", labels: " + labels + "}\nspec: {nodeName: " + node +
                              ", containers: [{name: c, ports: " + ports +
                              "}]}\nstatus: {phase: Running, podIP: " + ip + "}\n");
}

// A pod with status.podIPs (dual-stack or single-family); the first is also status.podIP.
inline Pod podWithIPs(const std::string& ns, const std::string& name,
                      const std::vector<std::string>& ips, const std::string& labels,
                      const std::string& node = "n1", const std::string& ports = "[]") {
  Pod p = pod(ns, name, "\"" + ips.at(0) + "\"", labels, node, ports);  // quoted: IPv6 has ':'
  for (const auto& ip : ips) p.status.podIPs.push_back({.ip = ip});
  return p;
}

inline Namespace ns(const std::string& name, const std::string& labels) {
  return api::decodeYaml<Namespace>("metadata: {name: " + name + ", labels: " + labels + "}\n");
}

inline NetworkPolicy policy(const std::string& ns, const std::string& name,
                            const std::string& spec) {
  return api::decodeYaml<NetworkPolicy>("metadata: {namespace: " + ns + ", name: " + name +
                                        "}\nspec: " + spec + "\n");
}

}  // namespace kite::proxy::netpol::testing
