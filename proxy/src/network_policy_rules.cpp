// netpol::State -> the text of `table inet kite-netpol`, whole or as a diff.

#include "kite/proxy/network_policy_rules.h"

#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <iterator>
#include <set>
#include <sstream>
#include <string_view>

namespace kite::proxy::netpol::nft {

namespace {

constexpr const char* kAddressType = "ipv4_addr";
constexpr const char* kPortType = "inet_proto . inet_service";
constexpr const char* kPodPortType = "ipv4_addr . inet_proto . inet_service";

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
  const char* selfAddress;  // the isolated pod's address: daddr for ingress
  const char* peerAddress;  // the other side's address
};
constexpr Direction kIngress{"ingress", "ip daddr", "ip saddr"};
constexpr Direction kEgress{"egress", "ip saddr", "ip daddr"};

std::string range(const AddressRange& r) {
  return r.first == r.last ? formatAddress(r.first)
                           : formatAddress(r.first) + "-" + formatAddress(r.last);
}

std::vector<std::string> sortedUnique(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
  return v;
}

// One policy's chain and sets for one direction.
void renderPolicy(const PolicyState& policy, const Direction& dir,
                  const std::vector<std::string>& targets, const std::vector<RuleState>& rules,
                  Ruleset& out, std::vector<std::string>& dispatch) {
  if (targets.empty()) return;
  const std::string chain = policyId(policy.key()) + "-" + dir.name;
  out.sets[chain + "-pods"] = {.type = kAddressType, .interval = false, .elements = targets};
  dispatch.push_back(std::string(dir.selfAddress) + " @" + chain + "-pods jump " + chain +
                     " comment \"" + policy.key() + "\"");
  auto& body = out.chains[chain];
  for (std::size_t i = 0; i < rules.size(); ++i) {
    const auto& rule = rules[i];
    const std::string base = chain + "-" + std::to_string(i);
    std::string peer;
    if (!rule.allPeers) {
      auto& peers = out.sets[base + "-peers"];
      peers = {.type = kAddressType, .interval = true, .elements = {}};
      for (const auto& r : rule.peers) peers.elements.push_back(range(r));
      peers.elements = sortedUnique(std::move(peers.elements));
      peer = std::string(dir.peerAddress) + " @" + base + "-peers ";
    }
    if (rule.allPorts) {
      body.push_back(peer + "accept");
      continue;
    }
    if (!rule.ports.empty()) {
      auto& ports = out.sets[base + "-ports"];
      ports = {.type = kPortType, .interval = true, .elements = {}};
      for (const auto& p : rule.ports) {
        ports.elements.push_back(p.protocol + " . " + std::to_string(p.first) +
                                 (p.first == p.last ? "" : "-" + std::to_string(p.last)));
      }
      ports.elements = sortedUnique(std::move(ports.elements));
      body.push_back(join({peer, "meta l4proto . th dport @", base, "-ports accept"}));
    }
    if (!rule.podPorts.empty()) {
      auto& named = out.sets[base + "-named"];
      named = {.type = kPodPortType, .interval = false, .elements = {}};
      for (const auto& p : rule.podPorts) {
        named.elements.push_back(p.ip + " . " + p.protocol + " . " + std::to_string(p.port));
      }
      named.elements = sortedUnique(std::move(named.elements));
      body.push_back(join({peer, "ip daddr . meta l4proto . th dport @", base, "-named accept"}));
    }
  }
}

void finishDispatch(const Direction& dir, std::vector<std::string> rules, Ruleset& out) {
  // Nothing allowed it: refuse at once rather than let the client wait for a timeout.
  rules.emplace_back("meta l4proto tcp reject with tcp reset");
  rules.emplace_back("reject with icmpx admin-prohibited");
  out.chains[std::string(dir.name) + "-policies"] = std::move(rules);
}

std::string setDeclaration(const std::string& name, const SetDef& set) {
  return join({"add set ", kPrefix, name, " { type ", set.type, ";",
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

std::string policyId(const std::string& key) {
  uint64_t hash = 14695981039346656037ULL;  // FNV-1a
  for (const unsigned char c : key) {
    hash ^= c;
    hash *= 1099511628211ULL;
  }
  std::ostringstream out;
  out << "np-" << std::hex;
  out.width(16);
  out.fill('0');
  out << hash;
  return out.str();
}

Ruleset render(const State& state) {
  Ruleset out;
  std::vector<std::string> ingressIsolated;
  std::vector<std::string> egressIsolated;
  std::vector<std::string> ingressDispatch;
  std::vector<std::string> egressDispatch;
  for (const auto& [key, policy] : state.policies) {
    renderPolicy(policy, kIngress, policy.ingressTargets, policy.ingress, out, ingressDispatch);
    renderPolicy(policy, kEgress, policy.egressTargets, policy.egress, out, egressDispatch);
    ingressIsolated.insert(ingressIsolated.end(), policy.ingressTargets.begin(),
                           policy.ingressTargets.end());
    egressIsolated.insert(egressIsolated.end(), policy.egressTargets.begin(),
                          policy.egressTargets.end());
  }
  out.sets["ingress-isolated"] = {.type = kAddressType,
                                  .interval = false,
                                  .elements = sortedUnique(std::move(ingressIsolated))};
  out.sets["egress-isolated"] = {
      .type = kAddressType, .interval = false, .elements = sortedUnique(std::move(egressIsolated))};
  finishDispatch(kIngress, std::move(ingressDispatch), out);
  finishDispatch(kEgress, std::move(egressDispatch), out);
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
  for (const auto& [name, body] : ruleset.chains) out += join({"add chain ", kPrefix, name, "\n"});
  for (const auto& [name, set] : ruleset.sets) {
    out += setDeclaration(name, set) + elements("add", name, set.elements);
  }
  // Replies and related ICMP of allowed connections pass without another look.
  out += rules("forward-egress", {"ct state established,related accept",
                                  "ip saddr @egress-isolated jump egress-policies"});
  out += rules("forward-ingress", {"ct state established,related accept",
                                   "ip daddr @ingress-isolated jump ingress-policies"});
  for (const auto& [name, body] : ruleset.chains) out += rules(name, body);
  return out;
}

std::string renderChanges(const State& applied, const State& next) {
  if (applied == next) return "";
  const auto before = render(applied);
  const auto after = render(next);
  std::string added;    // new sets and chains, declared before any rule uses them
  std::string updated;  // element changes, then rewritten chains
  std::string removed;  // chains and sets that are gone, once nothing refers to them
  std::string rewritten;
  for (const auto& [name, set] : after.sets) {
    const auto old = before.sets.find(name);
    if (old == before.sets.end()) {
      added += setDeclaration(name, set) + elements("add", name, set.elements);
      continue;
    }
    updated += elements("delete", name, difference(old->second.elements, set.elements));
    updated += elements("add", name, difference(set.elements, old->second.elements));
  }
  for (const auto& [name, body] : after.chains) {
    const auto old = before.chains.find(name);
    if (old == before.chains.end()) {
      added += join({"add chain ", kPrefix, name, "\n"});
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
  return added + updated + rewritten + removed;
}

std::string renderCleanup() {
  return join({"add table ", kPrefix, "\ndelete table ", kPrefix, "\n"});
}

}  // namespace kite::proxy::netpol::nft
