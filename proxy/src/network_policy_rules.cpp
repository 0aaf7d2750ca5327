// netpol::State -> the text of `table inet kite-netpol`, whole or as a diff.

#include "kite/proxy/network_policy_rules.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <initializer_list>
#include <iterator>
#include <set>
#include <string_view>
#include <tuple>

namespace kite::proxy::netpol::nft {

namespace {

// What differs between the IPv4 and the IPv6 half of the table: the address match keyword,
// the suffix of the family's maps and sets ("ingress-pods" / "ingress-pods6", "in-<hash>-all"
// / "in-<hash>-all6") and their types.
struct Family {
  const char* ip;
  const char* suffix;
  const char* addressType;
  const char* allowType;
  const char* verdictMapType;
};
constexpr Family kIPv4{"ip", "", "ipv4_addr", "ipv4_addr . inet_proto . inet_service",
                       "ipv4_addr : verdict"};
constexpr Family kIPv6{"ip6", "6", "ipv6_addr", "ipv6_addr . inet_proto . inet_service",
                       "ipv6_addr : verdict"};

constexpr const char* kNeighbourDiscovery =
    "icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } accept";

// kFamily and kTable, as commands name the table.
constexpr std::string_view kPrefix = "inet kite-netpol ";

// Concatenates without temporaries.
std::string join(std::initializer_list<std::string_view> parts) {
  std::string out;
  for (const auto part : parts) out.append(part);
  return out;
}

struct Direction {
  const char* name;         // "ingress" / "egress"
  const char* prefix;       // of the per-pod chain and sets: "in" / "eg"
  const char* selfAddress;  // the isolated pod's address: daddr for ingress
  const char* peerAddress;  // the other side's address
};
constexpr Direction kIngress{"ingress", "in", " daddr", " saddr"};
constexpr Direction kEgress{"egress", "eg", " saddr", " daddr"};

std::string range(const AddressRange& r) {
  return r.first == r.last ? formatAddress(r.first)
                           : formatAddress(r.first) + "-" + formatAddress(r.last);
}
std::string range(const Address6Range& r) {
  return r.first == r.last ? formatAddress6(r.first)
                           : formatAddress6(r.first) + "-" + formatAddress6(r.last);
}

std::string portText(int32_t first, int32_t last) {
  return first == last ? std::to_string(first) : std::to_string(first) + "-" + std::to_string(last);
}

// What some rule allows to (ingress) or from (egress) one pod on some ports: peers of each
// family x protocol x port range.
struct Box {
  std::string protocol;
  int32_t first = 0;
  int32_t last = 0;
  std::vector<AddressRange> peers;
  std::vector<Address6Range> peers6;
};

// The union of the boxes' peers of one family (`peersOf`: Box::peers or Box::peers6) as
// elements "PEERS . PROTO . PORTS" that do not overlap (the kernel refuses overlapping
// elements in a set of concatenated ranges): per protocol, the port axis is cut at every
// box's ends; each piece gets the union of the peers of the boxes covering it, and
// neighbouring pieces with the same peers are joined again.
template <class R>
std::vector<std::string> disjointElements(const std::vector<Box>& boxes,
                                          std::vector<R> Box::*peersOf) {
  std::set<std::string> protocols;
  for (const auto& b : boxes) {
    if (!(b.*peersOf).empty()) protocols.insert(b.protocol);
  }
  std::vector<std::string> out;
  for (const auto& protocol : protocols) {
    std::vector<int32_t> cuts;
    for (const auto& b : boxes) {
      if (b.protocol != protocol || (b.*peersOf).empty()) continue;
      cuts.push_back(b.first);
      cuts.push_back(b.last + 1);
    }
    std::sort(cuts.begin(), cuts.end());
    cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
    std::vector<std::tuple<int32_t, int32_t, std::vector<R>>> pieces;
    for (std::size_t i = 0; i + 1 < cuts.size(); ++i) {
      const int32_t first = cuts[i];
      const int32_t last = cuts[i + 1] - 1;
      std::vector<R> peers;
      for (const auto& b : boxes) {
        if (b.protocol == protocol && b.first <= first && b.last >= last) {
          peers.insert(peers.end(), (b.*peersOf).begin(), (b.*peersOf).end());
        }
      }
      if (peers.empty()) continue;
      peers = mergeRanges(std::move(peers));
      if (!pieces.empty() && std::get<1>(pieces.back()) + 1 == first &&
          std::get<2>(pieces.back()) == peers) {
        std::get<1>(pieces.back()) = last;
      } else {
        pieces.emplace_back(first, last, std::move(peers));
      }
    }
    for (const auto& [first, last, peers] : pieces) {
      const std::string tail = join({" . ", protocol, " . ", portText(first, last)});
      for (const auto& p : peers) out.push_back(range(p) + tail);
    }
  }
  return out;
}

std::vector<std::string> sortedUnique(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
  return v;
}

// What every rule of every policy isolating one pod in one direction allows it.
struct PodAllowed {
  std::vector<AddressRange> allPorts;  // peers allowed on every protocol and port
  std::vector<Address6Range> allPorts6;
  std::vector<Box> boxes;
};

template <class R, class A>
bool inRanges(const std::vector<R>& ranges, A address) {
  return std::any_of(ranges.begin(), ranges.end(),
                     [&](const R& r) { return r.first <= address && address <= r.last; });
}

// `pod`: one address of the pod (either family; a dual-stack pod's two give the same answer).
void addRule(const RuleState& rule, const Direction& dir, const std::string& pod,
             PodAllowed& allowed) {
  static const std::vector<AddressRange> kEveryone{{0, UINT32_MAX}};
  static const std::vector<Address6Range> kEveryone6{
      {0, static_cast<Ipv6Address>(~Ipv6Address{0})}};
  const auto& peers = rule.allPeers ? kEveryone : rule.peers;
  const auto& peers6 = rule.allPeers ? kEveryone6 : rule.peers6;
  if (rule.allPorts) {
    allowed.allPorts.insert(allowed.allPorts.end(), peers.begin(), peers.end());
    allowed.allPorts6.insert(allowed.allPorts6.end(), peers6.begin(), peers6.end());
    return;
  }
  for (const auto& p : rule.ports) {
    allowed.boxes.push_back({p.protocol, p.first, p.last, peers, peers6});
  }
  for (const auto& p : rule.podPorts) {
    if (&dir == &kIngress) {
      // Resolved on the destination: this pod's own entries only.
      if (p.ip == pod) allowed.boxes.push_back({p.protocol, p.port, p.port, peers, peers6});
      continue;
    }
    // Resolved on the destination peer, which must be one of the rule's peers (of the
    // address's family).
    if (isIPv6(p.ip)) {
      const Ipv6Address address = parseCidr6(p.ip).first;
      if (inRanges(peers6, address)) {
        allowed.boxes.push_back({p.protocol, p.port, p.port, {}, {{address, address}}});
      }
    } else {
      const uint32_t address = parseCidr(p.ip).first;
      if (inRanges(peers, address)) {
        allowed.boxes.push_back({p.protocol, p.port, p.port, {{address, address}}, {}});
      }
    }
  }
}

uint64_t fnv1a(std::string_view text) {
  uint64_t hash = 14695981039346656037ULL;
  for (const unsigned char c : text) {
    hash ^= c;
    hash *= 1099511628211ULL;
  }
  return hash;
}

// The isolated pods of one direction that get the same answers: isolated by the same
// policies and, for ingress, with the same numbers behind the named ports those policies'
// rules use (they resolve on the pod itself). Named after a hash of that key, so the name
// stays while only peers change (element updates) and changes with the policies selecting
// a pod (a fresh chain and sets rather than rewriting most of a big set element by element:
// the kernel removes concatenated-range elements one at a time, each at a cost that grows
// with the set).
struct PodClass {
  std::vector<const PolicyState*> policies;
  std::vector<std::string> pods;  // addresses, both families
};

std::string classKey(const std::vector<const PolicyState*>& policies, const Direction& dir,
                     const std::string& pod) {
  std::string key;
  for (const auto* policy : policies) {
    key += policy->key() + "\n";
    if (&dir != &kIngress) continue;
    for (std::size_t i = 0; i < policy->ingress.size(); ++i) {
      for (const auto& p : policy->ingress[i].podPorts) {
        if (p.ip != pod) continue;
        key += join({std::to_string(i), " ", p.protocol, " ", std::to_string(p.port), "\n"});
      }
    }
  }
  return key;
}

// One family's half of a class: its two sets and the two rules that look the peer up in them.
template <class R>
void renderFamily(const Family& f, const Direction& dir, const std::string& id,
                  std::vector<R> allPorts, const std::vector<Box>& boxes,
                  std::vector<R> Box::*peersOf, Ruleset& out, std::vector<std::string>& chain) {
  std::vector<std::string> all;
  for (const auto& r : mergeRanges(std::move(allPorts))) all.push_back(range(r));
  const std::string sets = id + "-";
  out.sets[join({sets, "all", f.suffix})] = {
      .type = f.addressType, .interval = true, .elements = std::move(all)};
  out.sets[join({sets, "ports", f.suffix})] = {
      .type = f.allowType,
      .interval = true,
      .elements = sortedUnique(disjointElements(boxes, peersOf))};
  chain.push_back(join({f.ip, dir.peerAddress, " @", id, "-all", f.suffix, " accept"}));
  chain.push_back(join(
      {f.ip, dir.peerAddress, " . meta l4proto . th dport @", id, "-ports", f.suffix, " accept"}));
}

// One direction: the verdict maps (one per family) from isolated pods' addresses to their
// class's chain, and per class its chain and, per family its pods have, two sets.
void renderDirection(const State& state, const Direction& dir, Ruleset& out) {
  const bool ingress = &dir == &kIngress;
  std::map<std::string, std::vector<const PolicyState*>> isolating;  // by address
  for (const auto& [key, policy] : state.policies) {
    for (const auto& target : ingress ? policy.ingressTargets : policy.egressTargets) {
      isolating[target].push_back(&policy);
    }
  }
  std::map<std::string, PodClass> classes;  // by key
  for (auto& [pod, policies] : isolating) {
    auto& c = classes[classKey(policies, dir, pod)];
    if (c.pods.empty()) c.policies = std::move(policies);
    c.pods.push_back(pod);
  }
  auto& vmap = out.sets[std::string(dir.name) + "-pods"];
  vmap = {.type = kIPv4.verdictMapType, .interval = false, .map = true, .elements = {}};
  auto& vmap6 = out.sets[std::string(dir.name) + "-pods" + kIPv6.suffix];
  vmap6 = {.type = kIPv6.verdictMapType, .interval = false, .map = true, .elements = {}};
  for (const auto& [key, c] : classes) {
    std::array<char, 24> hex{};
    std::snprintf(hex.data(), hex.size(), "-%016llx", static_cast<unsigned long long>(fnv1a(key)));
    std::string id = dir.prefix + std::string(hex.data());
    if (out.chains.contains(id)) {  // a hash collision: told apart by a pod's address
      std::snprintf(hex.data(), hex.size(), "-%08x",
                    static_cast<unsigned>(fnv1a(c.pods.front()) & 0xffffffffU));
      id += hex.data();
    }
    PodAllowed allowed;  // the same for every pod of the class: computed on the first
    for (const auto* policy : c.policies) {
      for (const auto& rule : ingress ? policy->ingress : policy->egress) {
        addRule(rule, dir, c.pods.front(), allowed);
      }
    }
    bool v4 = false;
    bool v6 = false;
    for (const auto& pod : c.pods) {
      const bool six = isIPv6(pod);
      v4 = v4 || !six;
      v6 = v6 || six;
      (six ? vmap6 : vmap).elements.push_back(join({pod, " : jump ", id}));
    }
    // Only the families the class's pods have: an IPv4-only cluster gets no IPv6 sets.
    std::vector<std::string> chain;
    if (v4) {
      renderFamily(kIPv4, dir, id, std::move(allowed.allPorts), allowed.boxes, &Box::peers, out,
                   chain);
    }
    if (v6) {
      renderFamily(kIPv6, dir, id, std::move(allowed.allPorts6), allowed.boxes, &Box::peers6, out,
                   chain);
    }
    // Nothing allowed it: refuse at once rather than let the client wait for a timeout.
    chain.emplace_back("meta l4proto tcp reject with tcp reset");
    chain.emplace_back("reject with icmpx admin-prohibited");
    out.chains[id] = std::move(chain);
  }
  vmap.elements = sortedUnique(std::move(vmap.elements));
  vmap6.elements = sortedUnique(std::move(vmap6.elements));
}

std::string setDeclaration(const std::string& name, const SetDef& set) {
  return join({set.map ? "add map " : "add set ", kPrefix, name, " { type ", set.type, ";",
               set.interval ? " flags interval;" : "", " }\n"});
}

std::string elements(const char* verb, const std::string& set,
                     const std::vector<std::string>& items) {
  if (items.empty()) return "";
  std::string out = join({verb, " element ", kPrefix, set, " { "});
  for (std::size_t i = 0; i < items.size(); ++i) out += join({i == 0 ? "" : ", ", items[i]});
  return out + " }\n";
}

std::string rules(const std::string& chain, const std::vector<std::string>& body) {
  std::string out;
  for (const auto& r : body) out += join({"add rule ", kPrefix, chain, " ", r, "\n"});
  return out;
}

std::vector<std::string> difference(const std::vector<std::string>& a,
                                    const std::vector<std::string>& b) {
  std::vector<std::string> out;
  std::set_difference(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out));
  return out;
}

}  // namespace

std::string podChain(const Ruleset& ruleset, const std::string& direction,
                     const std::string& podIP) {
  const auto map = ruleset.sets.find(direction + "-pods" + (isIPv6(podIP) ? kIPv6 : kIPv4).suffix);
  if (map == ruleset.sets.end()) return "";
  const std::string prefix = podIP + " : jump ";
  for (const auto& e : map->second.elements) {
    if (e.starts_with(prefix)) return e.substr(prefix.size());
  }
  return "";
}

Ruleset render(const State& state) {
  Ruleset out;
  renderDirection(state, kIngress, out);
  renderDirection(state, kEgress, out);
  return out;
}

std::string renderFull(const State& state) {
  const auto ruleset = render(state);
  std::string out =
      join({"add table ", kPrefix, "\ndelete table ", kPrefix, "\nadd table ", kPrefix, "\n"});
  out += join({"add chain ", kPrefix,
               "forward-egress { type filter hook forward priority filter; policy accept; }\n"});
  out +=
      join({"add chain ", kPrefix,
            "forward-ingress { type filter hook forward priority filter + 1; policy accept; }\n"});
  // Chains first: the verdict maps' elements jump to them.
  for (const auto& [name, body] : ruleset.chains) out += join({"add chain ", kPrefix, name, "\n"});
  for (const auto& [name, set] : ruleset.sets) {
    out += setDeclaration(name, set) + elements("add", name, set.elements);
  }
  // Replies and related ICMP of allowed connections pass without another look. IPv6
  // neighbour discovery between pods on one bridge is not tracked (no connection to be
  // part of) and must pass, or no IPv6 traffic between them could start.
  out += rules("forward-egress", {"ct state established,related accept", kNeighbourDiscovery,
                                  "ip saddr vmap @egress-pods", "ip6 saddr vmap @egress-pods6"});
  out += rules("forward-ingress", {"ct state established,related accept", kNeighbourDiscovery,
                                   "ip daddr vmap @ingress-pods", "ip6 daddr vmap @ingress-pods6"});
  for (const auto& [name, body] : ruleset.chains) out += rules(name, body);
  return out;
}

std::string renderChanges(const State& applied, const State& next) {
  if (applied == next) return "";
  const auto before = render(applied);
  const auto after = render(next);
  std::string addedChains;  // declared before any map element jumps to them
  std::string addedSets;    // new sets, declared before any rule uses them
  std::string updated;      // element changes (deletes first), then rewritten chains
  std::string removed;      // chains and sets that are gone, once nothing refers to them
  std::string rewritten;
  for (const auto& [name, set] : after.sets) {
    const auto old = before.sets.find(name);
    if (old == before.sets.end()) {
      addedSets += setDeclaration(name, set) + elements("add", name, set.elements);
      continue;
    }
    updated += elements("delete", name, difference(old->second.elements, set.elements));
    updated += elements("add", name, difference(set.elements, old->second.elements));
  }
  for (const auto& [name, body] : after.chains) {
    const auto old = before.chains.find(name);
    if (old == before.chains.end()) {
      addedChains += join({"add chain ", kPrefix, name, "\n"});
    } else if (old->second == body) {
      continue;
    } else {
      rewritten += join({"flush chain ", kPrefix, name, "\n"});
    }
    rewritten += rules(name, body);
  }
  for (const auto& [name, body] : before.chains) {
    if (after.chains.contains(name)) continue;
    rewritten += join({"flush chain ", kPrefix, name, "\n"});
    removed += join({"delete chain ", kPrefix, name, "\n"});
  }
  for (const auto& [name, set] : before.sets) {
    if (!after.sets.contains(name)) removed += join({"delete set ", kPrefix, name, "\n"});
  }
  return addedChains + addedSets + updated + rewritten + removed;
}

std::string renderCleanup() {
  return join({"add table ", kPrefix, "\ndelete table ", kPrefix, "\n"});
}

}  // namespace kite::proxy::netpol::nft
