#pragma once
// NetworkPolicy enforcement, step one: NetworkPolicies + Pods + Namespaces -> what this node
// must enforce for its own pods, with upstream's semantics. Pure computation (no kernel, no
// client), so it is unit-tested and diffed cheaply; network_policy_rules.h turns it into nft.
//
//   auto state = proxy::netpol::computeState(policies, pods, namespaces, "node1");
//   for (const auto& [key, policy] : state.policies) { ... policy.ingressTargets ... }
//
// Semantics (networking.k8s.io/v1):
// - A policy selects the pods of its namespace matched by spec.podSelector ({} selects all);
//   only pods on this node with a pod IP, not hostNetwork and not finished, are enforced
//   here (traffic of the node itself to and from its pods is always allowed).
// - Dual-stack: a pod counts with its first IPv4 and its first IPv6 address of status.podIP
//   and status.podIPs; it is isolated at both, and a selector peer matches both. An ipBlock
//   is of its cidr's family: it never matches the other family's traffic.
// - policyTypes: as given; when empty, Ingress, plus Egress when spec.egress is not empty.
// - A pod selected by a policy for a direction is isolated in that direction: only what some
//   rule of some policy selecting it allows gets through (nothing: default deny).
// - A rule with no peers allows every peer; with no ports every port. Peers: podSelector
//   alone (the policy's namespace), namespaceSelector alone (all pods of the matching
//   namespaces; {} matches every namespace), both (matching pods in matching namespaces),
//   ipBlock (cidr minus except). hostNetwork pods are never peers by selector.
// - Ports: protocol TCP when unset; no port: the whole protocol; endPort: a range; a named
//   port is resolved against the destination pod's container ports (the selected pod for
//   ingress, the peer pod for egress), so it can mean different numbers on different pods.
// - Invalid parts (a bad selector, cidr, protocol, endPort) allow nothing and are reported
//   in State::errors; the pods the policy selects stay isolated (fail closed).

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "kite/api/core/v1/types.h"
#include "kite/api/networking/v1/types.h"

namespace kite::proxy::netpol {

// An IPv6 address as one number, host order: ranges of it need + 1, - 1 and <, as IPv4's do.
__extension__ using Ipv6Address = unsigned __int128;

// An inclusive range of addresses of one family, host byte order.
template <class Address>
struct Range {
  Address first = 0;
  Address last = 0;
  bool operator==(const Range&) const = default;
  bool operator<(const Range& o) const {
    return first != o.first ? first < o.first : last < o.last;
  }
};
using AddressRange = Range<uint32_t>;      // IPv4
using Address6Range = Range<Ipv6Address>;  // IPv6

// A protocol and an inclusive port range ("tcp" 80-80; 0-65535 for the whole protocol).
struct PortRange {
  std::string protocol;  // "tcp", "udp" or "sctp" (nft spelling)
  int32_t first = 0;
  int32_t last = 0;
  bool operator==(const PortRange&) const = default;
  bool operator<(const PortRange& o) const {
    return std::tie(protocol, first, last) < std::tie(o.protocol, o.first, o.last);
  }
};

// A named port resolved on one pod: one of that pod's addresses (a dual-stack pod has an entry
// per family), protocol and number.
struct PodPort {
  std::string ip;
  std::string protocol;
  int32_t port = 0;
  bool operator==(const PodPort&) const = default;
  bool operator<(const PodPort& o) const {
    return std::tie(ip, protocol, port) < std::tie(o.ip, o.protocol, o.port);
  }
};

// One ingress or egress rule: allowed when the peer (source for ingress, destination for
// egress) is in `peers` and the destination port is in `ports` or (destination address,
// protocol, port) is in `podPorts`.
struct RuleState {
  bool allPeers = false;              // `from`/`to` empty (both families)
  std::vector<AddressRange> peers;    // IPv4, sorted, merged; when !allPeers
  std::vector<Address6Range> peers6;  // IPv6, sorted, merged; when !allPeers
  bool allPorts = false;              // `ports` empty
  std::vector<PortRange> ports;       // numeric ports and ranges, sorted, unique
  std::vector<PodPort> podPorts;      // named ports resolved per pod, sorted, unique
  bool operator==(const RuleState&) const = default;
};

// What one policy asks of this node.
struct PolicyState {
  std::string namespace_;
  std::string name;
  // The addresses of this node's pods the policy isolates per direction (both families, as
  // text; IPv6 in canonical form; sorted, unique); empty when the policy does not govern that
  // direction or selects no pod here.
  std::vector<std::string> ingressTargets;
  std::vector<std::string> egressTargets;
  // Rules that can allow something (rules that can match nothing are left out).
  std::vector<RuleState> ingress;
  std::vector<RuleState> egress;

  std::string key() const { return namespace_ + "/" + name; }
  bool operator==(const PolicyState&) const = default;
};

struct State {
  // By "namespace/name"; only policies that select a pod of this node.
  std::map<std::string, PolicyState> policies;
  // "namespace/name: field: what is wrong", for the log.
  std::vector<std::string> errors;
  bool operator==(const State& o) const { return policies == o.policies; }
};

State computeState(const std::vector<api::networking::v1::NetworkPolicy>& policies,
                   const std::vector<api::core::v1::Pod>& pods,
                   const std::vector<api::core::v1::Namespace>& namespaces,
                   const std::string& nodeName);

// computeState kept up to date from informer caches, where an object that did not change keeps
// its shared pointer: after a change of a few pods only the policies those pods can concern
// are computed again: a pod that joins or leaves one of the policy's pod selections (in the
// namespaces they look at), or stays in one with another address, node or container ports
// (policies whose egress named ports resolve on any pod always count); a changed policy is
// computed again; a namespace change or many pods at once compute everything. update()
// returns what computeState returns for the same objects. Not thread-safe.
//
//   netpol::IncrementalState incremental("node1");
//   const State& state = incremental.update(policyPtrs, podPtrs, namespacePtrs);
class IncrementalState {
 public:
  explicit IncrementalState(std::string nodeName);
  ~IncrementalState();
  IncrementalState(const IncrementalState&) = delete;
  IncrementalState& operator=(const IncrementalState&) = delete;

  const State& update(
      const std::vector<std::shared_ptr<const api::networking::v1::NetworkPolicy>>& policies,
      const std::vector<std::shared_ptr<const api::core::v1::Pod>>& pods,
      const std::vector<std::shared_ptr<const api::core::v1::Namespace>>& namespaces);
  // Policies the last update() computed (the others' results were kept).
  std::size_t recomputed() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

// Address ranges of both families, shared by the state and its nft rendering
// (network_policy_ranges.cpp).
// Whether an address or cidr is IPv6 (has a ':').
bool isIPv6(const std::string& address);
// "10.0.0.0/8" -> its range, an address alone its /32; throws std::invalid_argument for
// anything else (IPv6 too).
AddressRange parseCidr(const std::string& cidr);
// "fd00::/8" -> its range, an address alone its /128; throws std::invalid_argument for
// anything else (IPv4 too).
Address6Range parseCidr6(const std::string& cidr);
// Dotted quad of a host-order address.
std::string formatAddress(uint32_t address);
// Canonical text of an IPv6 address (RFC 5952, as inet_ntop writes it).
std::string formatAddress6(Ipv6Address address);
// Sorted, with overlapping and adjacent ranges joined.
std::vector<AddressRange> mergeRanges(std::vector<AddressRange> ranges);
std::vector<Address6Range> mergeRanges(std::vector<Address6Range> ranges);
// `from` minus `cut`.
std::vector<AddressRange> subtractRange(const std::vector<AddressRange>& from, AddressRange cut);
std::vector<Address6Range> subtractRange(const std::vector<Address6Range>& from, Address6Range cut);

}  // namespace kite::proxy::netpol
