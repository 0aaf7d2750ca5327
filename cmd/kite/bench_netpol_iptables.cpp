// The plain-iptables NetworkPolicy baseline (bench_netpol_iptables.h), written from the
// layout's description.

#include "bench_netpol_iptables.h"

#include <algorithm>
#include <bit>
#include <cstdint>
#include <map>
#include <vector>

namespace kite::cmd::bench {

namespace {

using proxy::netpol::AddressRange;
using proxy::netpol::PolicyState;
using proxy::netpol::RuleState;

constexpr const char* kIngressMark = "0x10000/0x10000";
constexpr const char* kEgressMark = "0x20000/0x20000";

std::string hash16(const std::string& s) {
  std::uint64_t h = 14695981039346656037ULL;  // FNV-1a
  for (const unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  static constexpr const char* kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  std::string out;
  for (int i = 0; i < 16; ++i) {
    out += kAlphabet[h & 31U];
    h = (h >> 5U) | (h << 59U);
  }
  return out;
}

// Appends the parts to `out` without temporaries (the text grows to tens of MB).
template <class... Parts>
void append(std::string& out, const Parts&... parts) {
  (out.append(parts), ...);
}

// The fewest CIDRs covering exactly `r`.
std::vector<std::string> cidrsOf(const AddressRange& r) {
  std::vector<std::string> out;
  std::uint64_t at = r.first;
  const std::uint64_t end = static_cast<std::uint64_t>(r.last) + 1;
  while (at < end) {
    int bits = at == 0 ? 32 : std::countr_zero(static_cast<std::uint32_t>(at));
    while (bits > 0 && at + (std::uint64_t{1} << bits) > end) --bits;
    out.push_back(proxy::netpol::formatAddress(static_cast<std::uint32_t>(at)) + "/" +
                  std::to_string(32 - bits));
    at += std::uint64_t{1} << bits;
  }
  return out;
}

std::string portMatch(const std::string& protocol, int first, int last) {
  if (first == 0 && last == 65535) return " -p " + protocol;
  std::string out = " -p " + protocol + " -m " + protocol + " --dport " + std::to_string(first);
  if (last != first) out += ":" + std::to_string(last);
  return out;
}

struct Direction {
  const char* suffix;  // of the policy chain
  const char* peer;    // the peer's address option: -s for ingress
  const char* self;    // the isolated pod's: -d for ingress
  const char* mark;
  bool ingress;
};
constexpr Direction kIngress{"-IN", "-s", "-d", kIngressMark, true};
constexpr Direction kEgress{"-EG", "-d", "-s", kEgressMark, false};

std::string policyChain(const PolicyState& policy, const Direction& dir) {
  return "KITE-NWP-" + hash16(policy.key()) + dir.suffix;
}

void renderPolicyChain(const PolicyState& policy, const Direction& dir,
                       const std::vector<RuleState>& rules, std::string& chains, std::string& out) {
  const std::string chain = policyChain(policy, dir);
  chains += ":" + chain + " - [0:0]\n";
  const std::string head = "-A " + chain + " -m comment --comment \"" + policy.key() + "\"";
  const std::string tail = std::string(" -j MARK --set-xmark ") + dir.mark + "\n";
  for (const auto& rule : rules) {
    std::vector<std::string> peers;
    if (rule.allPeers) {
      peers.emplace_back();
    } else {
      for (const auto& r : rule.peers) {
        for (const auto& cidr : cidrsOf(r))
          peers.push_back(std::string(" ") + dir.peer + " " + cidr);
      }
    }
    std::vector<std::string> ports;
    if (rule.allPorts) ports.emplace_back();
    for (const auto& p : rule.ports) ports.push_back(portMatch(p.protocol, p.first, p.last));
    for (const auto& peer : peers) {
      for (const auto& port : ports) append(out, head, peer, port, tail);
    }
    // A named port is a number on one pod: match that pod's address too. For egress the pod is
    // the peer, so it must also be one of the peers.
    for (const auto& p : rule.podPorts) {
      const std::string pod = " -d " + p.ip + "/32";
      const std::string port = portMatch(p.protocol, p.port, p.port);
      if (dir.ingress) {
        for (const auto& peer : peers) append(out, head, peer, pod, port, tail);
      } else {
        const std::uint32_t ip = proxy::netpol::parseCidr(p.ip + "/32").first;
        const bool peerOk =
            rule.allPeers || std::any_of(rule.peers.begin(), rule.peers.end(), [&](const auto& r) {
              return r.first <= ip && ip <= r.last;
            });
        if (peerOk) append(out, head, pod, port, tail);
      }
    }
  }
}

// Per isolated pod, its chain: the policies selecting it in turn, then reject.
void renderPodChains(const std::map<std::string, std::vector<const PolicyState*>>& byPod,
                     const Direction& dir, std::string& chains, std::string& dispatch,
                     std::string& out) {
  for (const auto& [ip, policies] : byPod) {
    const std::string chain = std::string("KITE-POD-") + (dir.ingress ? "IN-" : "EG-") + hash16(ip);
    chains += ":" + chain + " - [0:0]\n";
    append(dispatch, "-A KITE-NP-FORWARD ", std::string(dir.self), " ", ip, "/32 -j ", chain, "\n");
    for (const auto* policy : policies) {
      append(out, "-A ", chain, " -j ", policyChain(*policy, dir), "\n");
      append(out, "-A ", chain, " -m mark --mark ", std::string(dir.mark), " -j RETURN\n");
    }
    append(out, "-A ", chain, " -p tcp -j REJECT --reject-with tcp-reset\n");
    append(out, "-A ", chain, " -j REJECT --reject-with icmp-admin-prohibited\n");
  }
}

}  // namespace

std::string renderIptablesFilterEmpty() {
  return "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n";
}

std::string renderIptablesFilter(const proxy::netpol::State& state) {
  std::string chains =
      "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n"
      ":KITE-NP-FORWARD - [0:0]\n";
  std::string dispatch =
      "-A FORWARD -m comment --comment \"network policies\" -j KITE-NP-FORWARD\n"
      "-A KITE-NP-FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n";
  std::string rules;
  std::map<std::string, std::vector<const PolicyState*>> ingressPods;
  std::map<std::string, std::vector<const PolicyState*>> egressPods;
  for (const auto& [key, policy] : state.policies) {
    if (!policy.ingressTargets.empty()) {
      renderPolicyChain(policy, kIngress, policy.ingress, chains, rules);
      for (const auto& ip : policy.ingressTargets) ingressPods[ip].push_back(&policy);
    }
    if (!policy.egressTargets.empty()) {
      renderPolicyChain(policy, kEgress, policy.egress, chains, rules);
      for (const auto& ip : policy.egressTargets) egressPods[ip].push_back(&policy);
    }
  }
  renderPodChains(egressPods, kEgress, chains, dispatch, rules);
  renderPodChains(ingressPods, kIngress, chains, dispatch, rules);
  return chains + dispatch + rules + "COMMIT\n";
}

std::size_t countRules(const std::string& input) {
  std::size_t count = input.starts_with("-A ") ? 1 : 0;
  for (std::size_t at = input.find("\n-A "); at != std::string::npos;
       at = input.find("\n-A ", at + 1)) {
    ++count;
  }
  return count;
}

}  // namespace kite::cmd::bench
