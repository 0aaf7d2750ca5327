// The text of `table inet kite-proxy`: base chains and maps, and per Service port its chains,
// affinity sets and map elements (nft_rules.h has the layout).

#include "kite/proxy/nft_rules.h"

#include <algorithm>
#include <cstdint>
#include <set>
#include <sstream>

namespace kite::proxy::nft {

namespace {

constexpr const char* kMasqueradeMark = "0x4000";

// Short stable hash so chain names stay unique even when the readable part is cut.
std::string hashOf(const std::string& s) {
  std::uint64_t h = 14695981039346656037ULL;
  for (const unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  static constexpr const char* kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  std::string out;
  for (int i = 0; i < 8; ++i) {
    out += kAlphabet[h & 31U];
    h >>= 5U;
  }
  return out;
}

// "ns/name/tcp/portname": nft identifiers may hold '/', '-', '_' and '.'.
std::string readable(const ServicePortState& p) {
  return p.namespace_ + "/" + p.name + "/" + p.protocol + "/" + p.portName;
}

std::string serviceChain(const ServicePortState& p) {
  return "service-" + hashOf(p.key()) + "-" + readable(p);
}
std::string externalChain(const ServicePortState& p) {
  return "external-" + hashOf(p.key()) + "-" + readable(p);
}
std::string firewallChain(const ServicePortState& p) {
  return "firewall-" + hashOf(p.key()) + "-" + readable(p);
}
std::string endpointSuffix(const ServicePortState& p, const EndpointTarget& e) {
  const std::string id = e.ip + "/" + std::to_string(e.port);
  return hashOf(p.key() + "|" + id) + "-" + readable(p) + "__" + id;
}
std::string endpointChain(const ServicePortState& p, const EndpointTarget& e) {
  return "endpoint-" + endpointSuffix(p, e);
}
// The timeout is part of the name: a changed timeout is a new set, and the chains that use it
// change with it (so the old one is never deleted while still referenced).
std::string affinitySet(const ServicePortState& p, const EndpointTarget& e) {
  const std::string id = e.ip + "/" + std::to_string(e.port);
  return "affinity-" +
         hashOf(p.key() + "|" + id + "|" + std::to_string(p.affinityTimeoutSeconds.value_or(0))) +
         "-" + readable(p) + "__" + id;
}

std::string prefix() { return std::string(kFamily) + " " + kTable; }

// One command line from its parts.
template <class... Parts>
void line(std::ostringstream& out, const Parts&... parts) {
  (out << ... << parts);
  out << "\n";
}

template <class... Parts>
std::string cat(const Parts&... parts) {
  std::string s;
  ((s += parts), ...);
  return s;
}

// "a, b" from a list.
std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

// The match that picks NodePort traffic: local addresses, within --nodeport-addresses.
std::string nodePortMatch(const RulesOptions& options) {
  std::string match = "fib daddr type local";
  if (!options.nodePortAddresses.empty()) {
    match += " ip daddr { " + joined(options.nodePortAddresses) + " }";
  }
  return match;
}

void renderBase(std::ostringstream& out, const RulesOptions& options) {
  const std::string t = prefix();
  const char* ipKey = "{ type ipv4_addr . inet_proto . inet_service : verdict ; }";
  const char* portKey = "{ type inet_proto . inet_service : verdict ; }";
  line(out, "add map ", t, " service-ips ", ipKey);
  line(out, "add map ", t, " service-nodeports ", portKey);
  line(out, "add map ", t, " no-endpoint-services ", ipKey);
  line(out, "add map ", t, " no-endpoint-nodeports ", portKey);
  line(out, "add map ", t, " firewall-ips ", ipKey);

  line(out, "add chain ", t, " mark-for-masquerade");
  line(out, "add rule ", t, " mark-for-masquerade meta mark set meta mark or ", kMasqueradeMark);
  line(out, "add chain ", t, " masquerading");
  line(out, "add rule ", t, " masquerading meta mark & ", kMasqueradeMark, " == 0 return");
  line(out, "add rule ", t, " masquerading meta mark set meta mark xor ", kMasqueradeMark);
  line(out, "add rule ", t, " masquerading masquerade fully-random");

  line(out, "add chain ", t, " services");
  line(out, "add rule ", t, " services ip daddr . meta l4proto . th dport vmap @service-ips");
  line(out, "add rule ", t, " services ", nodePortMatch(options),
       " meta l4proto . th dport vmap @service-nodeports");
  // nft 1.0.6 refuses the `dstnat` keyword on output; -100 is the same priority.
  line(out, "add chain ", t, " nat-prerouting { type nat hook prerouting priority -100 ; }");
  line(out, "add rule ", t, " nat-prerouting jump services");
  line(out, "add chain ", t, " nat-output { type nat hook output priority -100 ; }");
  line(out, "add rule ", t, " nat-output jump services");
  line(out, "add chain ", t, " nat-postrouting { type nat hook postrouting priority 100 ; }");
  line(out, "add rule ", t, " nat-postrouting jump masquerading");

  // Service ports without endpoints refuse at once instead of timing out.
  line(out, "add chain ", t, " reject-chain");
  line(out, "add rule ", t, " reject-chain meta l4proto tcp reject with tcp reset");
  line(out, "add rule ", t, " reject-chain reject");
  line(out, "add chain ", t, " endpoints-check");
  line(out, "add rule ", t,
       " endpoints-check ip daddr . meta l4proto . th dport vmap @no-endpoint-services");
  line(out, "add rule ", t, " endpoints-check ", nodePortMatch(options),
       " meta l4proto . th dport vmap @no-endpoint-nodeports");
  for (const char* hook : {"input", "forward", "output"}) {
    const std::string chain = std::string("filter-") + hook;
    line(out, "add chain ", t, " ", chain, " { type filter hook ", hook, " priority -110 ; }");
    line(out, "add rule ", t, " ", chain, " ct state new jump endpoints-check");
  }

  // loadBalancerSourceRanges, before DNAT (-110 runs ahead of the nat chains' -100).
  line(out, "add chain ", t, " firewall-check");
  line(out, "add rule ", t,
       " firewall-check ip daddr . meta l4proto . th dport vmap @firewall-ips");
  line(out, "add chain ", t, " filter-prerouting { type filter hook prerouting priority -110 ; }");
  line(out, "add rule ", t, " filter-prerouting jump firewall-check");
  line(out, "add rule ", t, " filter-output jump firewall-check");
  // route_localnet (for NodePorts on 127.0.0.1) would let other hosts reach the node's
  // loopback services: nothing from outside may be addressed to 127/8.
  if (localhostNodePorts(options)) {
    line(out, "add rule ", t, " filter-prerouting iifname != \"lo\" ip daddr 127.0.0.0/8 drop");
  }
}

// "key : verdict" -> "key".
std::string keyOf(const std::string& element) { return element.substr(0, element.find(" : ")); }

void addChainWithRules(std::ostringstream& out, const std::string& chain,
                       const std::vector<std::string>& rules) {
  for (const auto& rule : rules) line(out, "add rule ", prefix(), " ", chain, " ", rule);
}

// Affinity lookups, then a random pick among `endpoints`; a drop when there is none.
void appendBalancing(std::vector<std::string>& rules, const ServicePortState& p,
                     const std::vector<EndpointTarget>& endpoints) {
  if (endpoints.empty()) {
    rules.emplace_back("drop");
    return;
  }
  std::string vmap;
  for (std::size_t i = 0; i < endpoints.size(); ++i) {
    const std::string ep = endpointChain(p, endpoints[i]);
    if (p.affinityTimeoutSeconds) {
      rules.push_back(cat("ip saddr @", affinitySet(p, endpoints[i]), " goto ", ep));
    }
    vmap += (i == 0 ? "" : ", ") + std::to_string(i) + " : goto " + ep;
  }
  rules.push_back("numgen random mod " + std::to_string(endpoints.size()) + " vmap { " + vmap +
                  " }");
}

}  // namespace

bool localhostNodePorts(const RulesOptions& options) {
  if (options.nodePortAddresses.empty()) return true;
  return std::any_of(options.nodePortAddresses.begin(), options.nodePortAddresses.end(),
                     [](const std::string& cidr) { return cidr.rfind("127.", 0) == 0; });
}

ServicePortRender renderServicePort(const ServicePortState& p, const RulesOptions& options) {
  ServicePortRender r;
  const std::string proto = p.protocol;
  const std::string port = std::to_string(p.port);
  const bool external = p.nodePort > 0 || !p.externalIPs.empty();
  if (!p.loadBalancerSourceRanges.empty() && !p.loadBalancerIPs.empty()) {
    const std::string fw = firewallChain(p);
    r.chains[fw] = {"ip saddr != { " + joined(p.loadBalancerSourceRanges) + " } drop"};
    for (const auto& ip : p.loadBalancerIPs) {
      r.elements["firewall-ips"].push_back(cat(ip, " . ", proto, " . ", port, " : goto ", fw));
    }
  }

  if (p.endpoints.empty()) {
    const std::string verdict = " : goto reject-chain";
    auto& ips = r.elements["no-endpoint-services"];
    ips.push_back(p.clusterIP + " . " + proto + " . " + port + verdict);
    for (const auto& ip : p.externalIPs) ips.push_back(cat(ip, " . ", proto, " . ", port, verdict));
    if (p.nodePort > 0) {
      r.elements["no-endpoint-nodeports"].push_back(proto + " . " + std::to_string(p.nodePort) +
                                                    verdict);
    }
    return r;
  }

  const std::string svc = serviceChain(p);
  auto& svcRules = r.chains[svc];
  if (!options.clusterCidr.empty()) {
    svcRules.push_back("ip daddr " + p.clusterIP + " meta l4proto " + proto + " th dport " + port +
                       " ip saddr != " + options.clusterCidr + " jump mark-for-masquerade");
  }
  for (const auto& e : p.endpoints) {
    const std::string ep = endpointChain(p, e);
    auto& epRules = r.chains[ep];
    // Hairpin: a pod reaching its own Service must see the reply come back through the node.
    epRules.push_back("ip saddr " + e.ip + " jump mark-for-masquerade");
    if (p.affinityTimeoutSeconds) {
      const std::string set = affinitySet(p, e);
      r.sets[set] = "{ type ipv4_addr ; flags dynamic,timeout ; timeout " +
                    std::to_string(*p.affinityTimeoutSeconds) + "s ; }";
      epRules.push_back("update @" + set + " { ip saddr }");
    }
    // In an inet table nft 1.0.6 wants the l4 protocol before `dnat ip to ADDR:PORT`.
    epRules.push_back("meta l4proto " + proto + " dnat ip to " + e.ip + ":" +
                      std::to_string(e.port));
  }
  // ClusterIP traffic: all endpoints, or only this node's (internalTrafficPolicy Local,
  // dropped when there is none here, as upstream does).
  const auto local = p.localEndpoints();
  appendBalancing(svcRules, p, p.internalPolicyLocal ? local : p.endpoints);

  auto& ips = r.elements["service-ips"];
  ips.push_back(p.clusterIP + " . " + proto + " . " + port + " : goto " + svc);
  if (external) {
    const std::string ext = externalChain(p);
    auto& extRules = r.chains[ext];
    if (!p.externalPolicyLocal) {
      extRules = {"jump mark-for-masquerade", "goto " + svc};
    } else {
      // externalTrafficPolicy Local: the client's address is kept, so only local endpoints
      // can answer. Pods and the node itself are not "external": they get the cluster path.
      if (!options.clusterCidr.empty())
        extRules.push_back("ip saddr " + options.clusterCidr + " goto " + svc);
      extRules.push_back("fib saddr type local jump mark-for-masquerade");
      extRules.push_back("fib saddr type local goto " + svc);
      appendBalancing(extRules, p, local);
    }
    for (const auto& ip : p.externalIPs) {
      ips.push_back(cat(ip, " . ", proto, " . ", port, " : goto ", ext));
    }
    if (p.nodePort > 0) {
      r.elements["service-nodeports"].push_back(proto + " . " + std::to_string(p.nodePort) +
                                                " : goto " + ext);
    }
  }
  return r;
}

namespace {

// Everything of a state, merged over its Service ports.
ServicePortRender renderAll(const DesiredState& state, const RulesOptions& options) {
  ServicePortRender all;
  for (const auto& [key, port] : state.services) {
    auto r = renderServicePort(port, options);
    for (auto& [map, elements] : r.elements) {
      auto& into = all.elements[map];
      into.insert(into.end(), elements.begin(), elements.end());
    }
    all.chains.merge(r.chains);
    all.sets.merge(r.sets);
  }
  return all;
}

void renderElements(std::ostringstream& out, const std::string& verb, const std::string& map,
                    const std::vector<std::string>& elements) {
  if (elements.empty()) return;
  std::string list;
  for (const auto& e : elements) list += (list.empty() ? "" : ", ") + e;
  line(out, verb, " element ", prefix(), " ", map, " { ", list, " }");
}

}  // namespace

std::string renderFull(const DesiredState& state, const RulesOptions& options) {
  std::ostringstream out;
  const std::string t = prefix();
  line(out, "add table ", t);
  line(out, "delete table ", t);
  line(out, "add table ", t);
  renderBase(out, options);
  const auto all = renderAll(state, options);
  for (const auto& [name, definition] : all.sets)
    line(out, "add set ", t, " ", name, " ", definition);
  for (const auto& [name, rules] : all.chains) line(out, "add chain ", t, " ", name);
  for (const auto& [name, rules] : all.chains) addChainWithRules(out, name, rules);
  for (const auto& [map, elements] : all.elements) renderElements(out, "add", map, elements);
  return out.str();
}

std::string renderChanges(const DesiredState& applied, const DesiredState& next,
                          const RulesOptions& options) {
  DesiredState before;
  DesiredState after;
  // Only the Service ports that changed are rendered and compared.
  for (const auto& [key, port] : applied.services) {
    const auto it = next.services.find(key);
    if (it == next.services.end() || !(it->second == port)) before.services.emplace(key, port);
  }
  for (const auto& [key, port] : next.services) {
    const auto it = applied.services.find(key);
    if (it == applied.services.end() || !(it->second == port)) after.services.emplace(key, port);
  }
  if (before.services.empty() && after.services.empty()) return {};
  const auto old = renderAll(before, options);
  const auto now = renderAll(after, options);
  const std::string t = prefix();
  std::ostringstream out;

  // 1. Map elements that go away or change (nothing points at the old chains after this).
  for (const auto& [map, elements] : old.elements) {
    const auto nowIt = now.elements.find(map);
    const std::set<std::string> keep =
        nowIt == now.elements.end()
            ? std::set<std::string>{}
            : std::set<std::string>(nowIt->second.begin(), nowIt->second.end());
    std::vector<std::string> gone;
    for (const auto& e : elements) {
      if (!keep.contains(e)) gone.push_back(keyOf(e));
    }
    renderElements(out, "delete", map, gone);
  }
  // 2. Flush chains that change or go away, then delete the ones that go, and their sets.
  for (const auto& [name, rules] : old.chains) {
    const auto it = now.chains.find(name);
    if (it == now.chains.end() || it->second != rules) line(out, "flush chain ", t, " ", name);
  }
  for (const auto& [name, rules] : old.chains) {
    if (!now.chains.contains(name)) line(out, "delete chain ", t, " ", name);
  }
  for (const auto& [name, definition] : old.sets) {
    const auto it = now.sets.find(name);
    if (it == now.sets.end() || it->second != definition) line(out, "delete set ", t, " ", name);
  }
  // 3. New or changed sets and chains, then their rules.
  for (const auto& [name, definition] : now.sets) {
    const auto it = old.sets.find(name);
    if (it == old.sets.end() || it->second != definition) {
      line(out, "add set ", t, " ", name, " ", definition);
    }
  }
  for (const auto& [name, rules] : now.chains) {
    if (!old.chains.contains(name)) line(out, "add chain ", t, " ", name);
  }
  for (const auto& [name, rules] : now.chains) {
    const auto it = old.chains.find(name);
    if (it == old.chains.end() || it->second != rules) addChainWithRules(out, name, rules);
  }
  // 4. Map elements that are new or changed.
  for (const auto& [map, elements] : now.elements) {
    const auto oldIt = old.elements.find(map);
    const std::set<std::string> had =
        oldIt == old.elements.end()
            ? std::set<std::string>{}
            : std::set<std::string>(oldIt->second.begin(), oldIt->second.end());
    std::vector<std::string> added;
    for (const auto& e : elements) {
      if (!had.contains(e)) added.push_back(e);
    }
    renderElements(out, "add", map, added);
  }
  return out.str();
}

std::string renderCleanup() {
  const std::string t = prefix();
  return "add table " + t + "\ndelete table " + t + "\n";
}

}  // namespace kite::proxy::nft
