// NetworkPolicies + Pods + Namespaces -> the policies this node enforces for its pods.

#include "kite/proxy/network_policy_state.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <optional>
#include <set>
#include <stdexcept>

#include "kite/api/labels.h"

namespace kite::proxy::netpol {

namespace {

using api::core::v1::Namespace;
using api::core::v1::Pod;
using api::networking::v1::NetworkPolicy;
using api::networking::v1::NetworkPolicyPeer;
using api::networking::v1::NetworkPolicyPort;

constexpr const char* kNamespaceNameLabel = "kubernetes.io/metadata.name";

// A pod as policies see it: where it is, its labels, its IPv4 address.
struct PodView {
  const Pod* pod;
  std::string ip;
  bool local;
};

std::optional<std::string> ipv4Of(const Pod& pod) {
  std::vector<std::string> candidates{pod.status.podIP};
  for (const auto& ip : pod.status.podIPs) candidates.push_back(ip.ip);
  for (const auto& ip : candidates) {
    in_addr addr{};
    if (!ip.empty() && inet_pton(AF_INET, ip.c_str(), &addr) == 1) return ip;
  }
  return std::nullopt;
}

uint32_t addressOf(const std::string& ip) {
  in_addr addr{};
  if (inet_pton(AF_INET, ip.c_str(), &addr) != 1) throw std::invalid_argument("not IPv4: " + ip);
  return ntohl(addr.s_addr);
}

// Sorts and merges overlapping or adjacent ranges.
std::vector<AddressRange> merge(std::vector<AddressRange> ranges) {
  std::sort(ranges.begin(), ranges.end());
  std::vector<AddressRange> out;
  for (const auto& r : ranges) {
    if (!out.empty() && (out.back().last == UINT32_MAX || r.first <= out.back().last + 1)) {
      out.back().last = std::max(out.back().last, r.last);
    } else {
      out.push_back(r);
    }
  }
  return out;
}

// `from` minus `cut`.
std::vector<AddressRange> subtract(const std::vector<AddressRange>& from, AddressRange cut) {
  std::vector<AddressRange> out;
  for (const auto& r : from) {
    if (cut.last < r.first || cut.first > r.last) {
      out.push_back(r);
      continue;
    }
    if (cut.first > r.first) out.push_back({r.first, cut.first - 1});
    if (cut.last < r.last) out.push_back({cut.last + 1, r.last});
  }
  return out;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// "tcp"/"udp"/"sctp" from a NetworkPolicyPort's or ContainerPort's protocol ("" is TCP).
std::string protocolOf(const std::string& protocol) {
  std::string p = lower(protocol.empty() ? "TCP" : protocol);
  if (p != "tcp" && p != "udp" && p != "sctp") {
    throw std::invalid_argument("protocol: unsupported value \"" + protocol +
                                "\" (supported: TCP, UDP, SCTP)");
  }
  return p;
}

// One policy's computation, collecting errors instead of throwing.
class PolicyBuilder {
 public:
  PolicyBuilder(const NetworkPolicy& policy, const std::vector<PodView>& pods,
                const std::map<std::string, api::labels::Set>& namespaceLabels,
                std::vector<std::string>& errors)
      : policy_(policy), pods_(pods), namespaceLabels_(namespaceLabels), errors_(errors) {}

  std::optional<PolicyState> build() {
    const auto& spec = policy_.spec;
    bool ingress = spec.policyTypes.empty();
    bool egress = spec.policyTypes.empty() && !spec.egress.empty();
    for (const auto& type : spec.policyTypes) {
      if (type == "Ingress") {
        ingress = true;
      } else if (type == "Egress") {
        egress = true;
      } else {
        error("spec.policyTypes", "unsupported value \"" + type + "\" (Ingress, Egress)");
      }
    }
    PolicyState state;
    state.namespace_ = policy_.metadata.namespace_;
    state.name = policy_.metadata.name;
    std::vector<const PodView*> targets;
    const auto selector = selectorOf(spec.podSelector, "spec.podSelector");
    for (const auto& pod : pods_) {
      if (pod.local && pod.pod->metadata.namespace_ == state.namespace_ && selector &&
          selector->matches(pod.pod->metadata.labels)) {
        targets.push_back(&pod);
      }
    }
    if (targets.empty()) return std::nullopt;
    std::vector<std::string> ips;
    ips.reserve(targets.size());
    for (const auto* t : targets) ips.push_back(t->ip);
    std::sort(ips.begin(), ips.end());
    ips.erase(std::unique(ips.begin(), ips.end()), ips.end());
    if (ingress) {
      state.ingressTargets = ips;
      for (std::size_t i = 0; i < spec.ingress.size(); ++i) {
        const auto& r = spec.ingress[i];
        const std::string field = "spec.ingress[" + std::to_string(i) + "]";
        // Named ports of ingress rules are the selected pods' own ports.
        addRule(state.ingress, r.from, r.ports, field, ".from", targets);
      }
    }
    if (egress) {
      state.egressTargets = ips;
      for (std::size_t i = 0; i < spec.egress.size(); ++i) {
        const auto& r = spec.egress[i];
        const std::string field = "spec.egress[" + std::to_string(i) + "]";
        addRule(state.egress, r.to, r.ports, field, ".to", std::nullopt);
      }
    }
    if (state.ingressTargets.empty() && state.egressTargets.empty()) return std::nullopt;
    return state;
  }

 private:
  void error(const std::string& field, const std::string& what) {
    errors_.push_back(policy_.metadata.namespace_ + "/" + policy_.metadata.name + ": " + field +
                      ": " + what);
  }

  std::optional<api::labels::Selector> selectorOf(const api::meta::v1::LabelSelector& s,
                                                  const std::string& field) {
    try {
      return api::labels::Selector::fromLabelSelector(s);
    } catch (const std::exception& e) {
      error(field, e.what());
      return std::nullopt;
    }
  }

  const api::labels::Set& labelsOfNamespace(const std::string& ns) {
    static const api::labels::Set kNone;
    const auto it = namespaceLabels_.find(ns);
    return it != namespaceLabels_.end() ? it->second : kNone;
  }

  // The pods a selector peer matches (not for ipBlock peers).
  std::vector<const PodView*> podsOf(const NetworkPolicyPeer& peer, const std::string& field) {
    std::optional<api::labels::Selector> pods = api::labels::Selector::everything();
    std::optional<api::labels::Selector> namespaces;
    if (peer.podSelector) pods = selectorOf(*peer.podSelector, field + ".podSelector");
    if (peer.namespaceSelector) {
      namespaces = selectorOf(*peer.namespaceSelector, field + ".namespaceSelector");
      if (!namespaces) return {};
    }
    if (!pods) return {};
    std::vector<const PodView*> out;
    for (const auto& pod : pods_) {
      const auto& ns = pod.pod->metadata.namespace_;
      const bool nsMatches = peer.namespaceSelector ? namespaces->matches(labelsOfNamespace(ns))
                                                    : ns == policy_.metadata.namespace_;
      if (nsMatches && pods->matches(pod.pod->metadata.labels)) out.push_back(&pod);
    }
    return out;
  }

  std::vector<AddressRange> rangesOf(const NetworkPolicyPeer& peer, const std::string& field) {
    const bool selectors = peer.podSelector || peer.namespaceSelector;
    if (peer.ipBlock && selectors) {
      error(field, "may not specify more than 1 peer type (ipBlock with a selector)");
      return {};
    }
    if (!peer.ipBlock && !selectors) {
      error(field, "must specify a peer");
      return {};
    }
    std::vector<AddressRange> ranges;
    if (!peer.ipBlock) {
      for (const auto* pod : podsOf(peer, field)) {
        const uint32_t a = addressOf(pod->ip);
        ranges.push_back({a, a});
      }
      return ranges;
    }
    const auto& block = *peer.ipBlock;
    if (block.cidr.find(':') != std::string::npos) return {};  // IPv6: not enforced yet
    try {
      ranges.push_back(parseCidr(block.cidr));
      for (std::size_t i = 0; i < block.except.size(); ++i) {
        if (block.except[i].find(':') != std::string::npos) continue;
        try {
          ranges = subtract(ranges, parseCidr(block.except[i]));
        } catch (const std::invalid_argument& e) {
          // A cut that cannot be made would allow too much: allow nothing instead.
          error(field + ".ipBlock.except[" + std::to_string(i) + "]", e.what());
          return {};
        }
      }
    } catch (const std::invalid_argument& e) {
      error(field + ".ipBlock.cidr", e.what());
      return {};
    }
    return ranges;
  }

  static bool within(const std::vector<AddressRange>& ranges, uint32_t a) {
    const auto it = std::upper_bound(ranges.begin(), ranges.end(), AddressRange{a, UINT32_MAX});
    return it != ranges.begin() && std::prev(it)->last >= a;
  }

  // `destinations`: the pods named ports resolve on; nullopt: every pod in the peers.
  void addRule(std::vector<RuleState>& out, const std::vector<NetworkPolicyPeer>& peers,
               const std::vector<NetworkPolicyPort>& ports, const std::string& field,
               const std::string& peersField,
               const std::optional<std::vector<const PodView*>>& destinations) {
    RuleState rule;
    rule.allPeers = peers.empty();
    for (std::size_t i = 0; i < peers.size(); ++i) {
      const auto r = rangesOf(peers[i], field + peersField + "[" + std::to_string(i) + "]");
      rule.peers.insert(rule.peers.end(), r.begin(), r.end());
    }
    rule.peers = merge(std::move(rule.peers));
    if (!rule.allPeers && rule.peers.empty()) return;
    rule.allPorts = ports.empty();
    std::set<PortRange> numeric;
    std::set<PodPort> named;
    for (std::size_t i = 0; i < ports.size(); ++i) {
      const std::string portField = field + ".ports[" + std::to_string(i) + "]";
      try {
        addPort(ports[i], destinations, rule, numeric, named);
      } catch (const std::invalid_argument& e) {
        error(portField, e.what());
      }
    }
    rule.ports.assign(numeric.begin(), numeric.end());
    rule.podPorts.assign(named.begin(), named.end());
    if (!rule.allPorts && rule.ports.empty() && rule.podPorts.empty()) return;
    out.push_back(std::move(rule));
  }

  void addPort(const NetworkPolicyPort& port,
               const std::optional<std::vector<const PodView*>>& destinations,
               const RuleState& rule, std::set<PortRange>& numeric, std::set<PodPort>& named) {
    const std::string protocol = protocolOf(port.protocol.value_or(""));
    if (!port.port) {
      if (port.endPort) throw std::invalid_argument("endPort: may not be set without port");
      numeric.insert({protocol, 0, 65535});
      return;
    }
    if (port.port->isInt()) {
      const int32_t first = port.port->intValue();
      const int32_t last = port.endPort.value_or(first);
      if (first < 1 || first > 65535) throw std::invalid_argument("port: must be 1-65535");
      if (last < first || last > 65535) {
        throw std::invalid_argument(
            "endPort: must be greater than or equal to port, at most 65535");
      }
      numeric.insert({protocol, first, last});
      return;
    }
    if (port.endPort) throw std::invalid_argument("endPort: may not be set with a named port");
    const std::string& name = port.port->strValue();
    auto resolveOn = [&](const PodView& pod) {
      for (const auto* list : {&pod.pod->spec.containers, &pod.pod->spec.initContainers}) {
        for (const auto& c : *list) {
          for (const auto& p : c.ports) {
            if (p.name == name && protocolOf(p.protocol) == protocol) {
              named.insert({pod.ip, protocol, p.containerPort});
            }
          }
        }
      }
    };
    if (destinations) {
      for (const auto* pod : *destinations) resolveOn(*pod);
      return;
    }
    for (const auto& pod : pods_) {
      if (rule.allPeers || within(rule.peers, addressOf(pod.ip))) resolveOn(pod);
    }
  }

  const NetworkPolicy& policy_;
  const std::vector<PodView>& pods_;
  const std::map<std::string, api::labels::Set>& namespaceLabels_;
  std::vector<std::string>& errors_;
};

}  // namespace

AddressRange parseCidr(const std::string& cidr) {
  const auto slash = cidr.find('/');
  const std::string address = cidr.substr(0, slash);
  in_addr addr{};
  if (inet_pton(AF_INET, address.c_str(), &addr) != 1) {
    throw std::invalid_argument("invalid CIDR address: \"" + cidr + "\"");
  }
  int bits = 32;
  if (slash != std::string::npos) {
    const std::string len = cidr.substr(slash + 1);
    if (len.empty() || len.size() > 2 || !std::all_of(len.begin(), len.end(), ::isdigit) ||
        (bits = std::stoi(len)) > 32) {
      throw std::invalid_argument("invalid CIDR address: \"" + cidr + "\"");
    }
  }
  const uint32_t mask = bits == 0 ? 0 : UINT32_MAX << (32 - bits);
  const uint32_t base = ntohl(addr.s_addr) & mask;
  return {base, base | ~mask};
}

std::string formatAddress(uint32_t address) {
  return std::to_string(address >> 24) + "." + std::to_string((address >> 16) & 0xff) + "." +
         std::to_string((address >> 8) & 0xff) + "." + std::to_string(address & 0xff);
}

State computeState(const std::vector<NetworkPolicy>& policies, const std::vector<Pod>& pods,
                   const std::vector<Namespace>& namespaces, const std::string& nodeName) {
  std::map<std::string, api::labels::Set> namespaceLabels;
  for (const auto& ns : namespaces) {
    auto& labels = namespaceLabels[ns.metadata.name];
    labels = ns.metadata.labels;
    // The API server sets it on every namespace; older objects may lack it.
    labels.emplace(kNamespaceNameLabel, ns.metadata.name);
  }
  std::vector<PodView> views;
  for (const auto& pod : pods) {
    if (pod.spec.hostNetwork) continue;
    if (pod.status.phase == "Succeeded" || pod.status.phase == "Failed") continue;
    const auto ip = ipv4Of(pod);
    if (!ip) continue;
    namespaceLabels.try_emplace(pod.metadata.namespace_,
                                api::labels::Set{{kNamespaceNameLabel, pod.metadata.namespace_}});
    views.push_back({&pod, *ip, !nodeName.empty() && pod.spec.nodeName == nodeName});
  }
  State state;
  for (const auto& policy : policies) {
    auto built = PolicyBuilder(policy, views, namespaceLabels, state.errors).build();
    if (built) state.policies.emplace(built->key(), std::move(*built));
  }
  return state;
}

}  // namespace kite::proxy::netpol
