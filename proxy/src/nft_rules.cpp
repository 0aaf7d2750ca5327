// The text of `table inet kite-proxy`: base chains and maps, and per Service port its map
// elements, shared chains, own chains and affinity sets (nft_rules.h has the layout).

#include "kite/proxy/nft_rules.h"

#include <algorithm>
#include <cstdint>

#include "nft_text.h"

namespace kite::proxy::nft {

using text::Family;
using text::familyOf;
using text::joined;
using text::named;

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
// "10.42.1.2/8080", "fd00.42..2/8080": nft identifiers may not hold ':'.
std::string endpointId(const EndpointTarget& e) {
  std::string ip = e.ip;
  std::replace(ip.begin(), ip.end(), ':', '.');
  return ip + "/" + std::to_string(e.port);
}
std::string endpointSuffix(const ServicePortState& p, const EndpointTarget& e) {
  const std::string id = endpointId(e);
  return hashOf(p.key() + "|" + id) + "-" + readable(p) + "__" + id;
}
std::string endpointChain(const ServicePortState& p, const EndpointTarget& e) {
  return "endpoint-" + endpointSuffix(p, e);
}
// The timeout is part of the name: a changed timeout is a new set, and the chains that use it
// change with it (so the old one is never deleted while still referenced).
std::string affinitySet(const ServicePortState& p, const EndpointTarget& e) {
  const std::string id = endpointId(e);
  return "affinity-" +
         hashOf(p.key() + "|" + id + "|" + std::to_string(p.affinityTimeoutSeconds.value_or(0))) +
         "-" + readable(p) + "__" + id;
}

// Shared chains, one per kind, family and endpoint count ("cluster-2", "cluster6-2").
std::string clusterChain(std::size_t endpoints, const Family& f) {
  return named("cluster", f) + "-" + std::to_string(endpoints);
}
std::string externalSharedChain(std::size_t endpoints, const Family& f) {
  return named("external", f) + "-" + std::to_string(endpoints);
}
std::string nodePortChain(std::size_t endpoints, const Family& f) {
  return named("nodeport", f) + "-" + std::to_string(endpoints);
}

// The cluster CIDR of a family ("" when not given).
const std::string& clusterCidrOf(const RulesOptions& options, const Family& f) {
  return f.v6 ? options.clusterCidrIPv6 : options.clusterCidr;
}

// A DNAT target: "10.42.1.2:8080", "[fd00::2]:8080".
std::string dnatTarget(const EndpointTarget& e) {
  return (familyOf(e.ip).v6 ? "[" + e.ip + "]" : e.ip) + ":" + std::to_string(e.port);
}

template <class... Parts>
std::string cat(const Parts&... parts) {
  std::string s;
  ((s += parts), ...);
  return s;
}

// The match that picks NodePort traffic of a family: local addresses, within the family's
// --nodeport-addresses (all when none of the family is given, as upstream). IPv6 has no
// route_localnet: NodePorts never answer on ::1 (as upstream).
std::string nodePortMatch(const RulesOptions& options, const Family& f) {
  std::string match = cat("fib daddr type local meta nfproto ipv", f.v6 ? "6" : "4");
  if (f.v6) match += " ip6 daddr != ::1";
  std::vector<std::string> cidrs;
  for (const auto& cidr : options.nodePortAddresses) {
    if (familyOf(cidr).v6 == f.v6) cidrs.push_back(cidr);
  }
  if (!cidrs.empty()) match += cat(" ", f.ip, " daddr { ", joined(cidrs), " }");
  return match;
}

// Plain ports are balanced by the shared chains and endpoint maps; affinity and the Local
// policies need per-port rules, and so do ports with more endpoints than there are shared
// chains.
bool balancedByMaps(const ServicePortState& p) {
  return !p.affinityTimeoutSeconds && !p.externalPolicyLocal && !p.internalPolicyLocal &&
         p.endpoints.size() <= kSharedChainEndpoints;
}

// DNAT to the endpoint the map holds under `key . numgen random mod N`. In an inet table
// nft 1.0.6 wants the l4 protocol before a DNAT that sets a port.
std::string dnatThroughMap(const std::string& key, std::size_t endpoints, const std::string& map,
                           const Family& f) {
  return cat("meta l4proto { tcp, udp, sctp } dnat ", f.ip, " addr . port to ", key,
             " . numgen random mod ", std::to_string(endpoints), " map @", map);
}

std::string addressKey(const Family& f) { return cat(f.ip, " daddr . meta l4proto . th dport"); }
constexpr const char* kNodePortKey = "meta l4proto . th dport";

// Affinity lookups, then a random pick among `endpoints`: `numgen random mod k == 0` with k
// counting down picks each with the same chance, without an anonymous map per port (binding
// one walks the kernel's transaction). A drop when there is none.
void appendBalancing(std::vector<std::string>& rules, const ServicePortState& p,
                     const std::vector<EndpointTarget>& endpoints) {
  if (endpoints.empty()) {
    rules.emplace_back("drop");
    return;
  }
  if (p.affinityTimeoutSeconds) {
    const char* ip = familyOf(p.clusterIP).ip;
    for (const auto& e : endpoints) {
      rules.push_back(cat(ip, " saddr @", affinitySet(p, e), " goto ", endpointChain(p, e)));
    }
  }
  for (std::size_t i = 0; i < endpoints.size(); ++i) {
    const std::size_t left = endpoints.size() - i;
    const std::string jump = "goto " + endpointChain(p, endpoints[i]);
    rules.push_back(left > 1 ? cat("numgen random mod ", std::to_string(left), " == 0 ", jump)
                             : jump);
  }
}

// The per-port chains of a port with affinity or a Local policy.
void renderOwnChains(ServicePortRender& r, const ServicePortState& p, const RulesOptions& options) {
  const Family& f = familyOf(p.clusterIP);
  const std::string& cidr = clusterCidrOf(options, f);
  const std::string proto = p.protocol;
  const std::string port = std::to_string(p.port);
  const std::string svc = serviceChain(p);
  auto& svcRules = r.chains[svc];
  if (!cidr.empty()) {
    svcRules.push_back(cat(f.ip, " daddr ", p.clusterIP, " meta l4proto ", proto, " th dport ",
                           port, " ", f.ip, " saddr != ", cidr, " jump mark-for-masquerade"));
  }
  for (const auto& e : p.endpoints) {
    auto& epRules = r.chains[endpointChain(p, e)];
    if (p.affinityTimeoutSeconds) {
      const std::string set = affinitySet(p, e);
      r.sets[set] = cat("{ type ", f.addressType, " ; flags dynamic,timeout ; timeout ",
                        std::to_string(*p.affinityTimeoutSeconds), "s ; }");
      epRules.push_back(cat("update @", set, " { ", f.ip, " saddr }"));
    }
    epRules.push_back(cat("meta l4proto ", proto, " dnat ", f.ip, " to ", dnatTarget(e)));
  }
  // ClusterIP traffic: all endpoints, or only this node's (internalTrafficPolicy Local,
  // dropped when there is none here, as upstream does).
  const auto local = p.localEndpoints();
  appendBalancing(svcRules, p, p.internalPolicyLocal ? local : p.endpoints);

  auto& ips = r.elements[named("service-ips", f)];
  ips.push_back(p.clusterIP + " . " + proto + " . " + port + " : goto " + svc);
  if (p.nodePort == 0 && p.externalIPs.empty()) return;
  const std::string ext = externalChain(p);
  auto& extRules = r.chains[ext];
  if (!p.externalPolicyLocal) {
    extRules = {"jump mark-for-masquerade", "goto " + svc};
  } else {
    // externalTrafficPolicy Local: the client's address is kept, so only local endpoints
    // can answer. Pods and the node itself are not "external": they get the cluster path.
    if (!cidr.empty()) extRules.push_back(cat(f.ip, " saddr ", cidr, " goto ", svc));
    extRules.push_back("fib saddr type local jump mark-for-masquerade");
    extRules.push_back("fib saddr type local goto " + svc);
    appendBalancing(extRules, p, local);
  }
  for (const auto& ip : p.externalIPs) {
    ips.push_back(cat(ip, " . ", proto, " . ", port, " : goto ", ext));
  }
  if (p.nodePort > 0) {
    r.elements[named("service-nodeports", f)].push_back(proto + " . " + std::to_string(p.nodePort) +
                                                        " : goto " + ext);
  }
}

// A plain port: elements only, pointing at the shared chains for its endpoint count.
void renderThroughMaps(ServicePortRender& r, const ServicePortState& p) {
  const Family& f = familyOf(p.clusterIP);
  const std::string proto = p.protocol;
  const std::string port = std::to_string(p.port);
  const std::size_t count = p.endpoints.size();
  const auto addEndpoints = [&](const std::string& map, const std::string& key) {
    auto& elements = r.elements[map];
    for (std::size_t i = 0; i < count; ++i) {
      const auto& e = p.endpoints[i];
      elements.push_back(
          cat(key, " . ", std::to_string(i), " : ", e.ip, " . ", std::to_string(e.port)));
    }
  };

  auto& ips = r.elements[named("service-ips", f)];
  const std::string endpointMap = named("service-endpoints", f);
  const std::string clusterKey = cat(p.clusterIP, " . ", proto, " . ", port);
  ips.push_back(clusterKey + " : goto " + clusterChain(count, f));
  addEndpoints(endpointMap, clusterKey);

  if (!p.externalIPs.empty()) {
    const std::string ext = externalSharedChain(count, f);
    for (const auto& ip : p.externalIPs) {
      const std::string key = cat(ip, " . ", proto, " . ", port);
      ips.push_back(cat(key, " : goto ", ext));
      addEndpoints(endpointMap, key);
    }
  }
  if (p.nodePort > 0) {
    const std::string np = nodePortChain(count, f);
    const std::string key = cat(proto, " . ", std::to_string(p.nodePort));
    r.elements[named("service-nodeports", f)].push_back(key + " : goto " + np);
    addEndpoints(named("nodeport-endpoints", f), key);
  }
}

}  // namespace

namespace text {

void renderBase(std::ostringstream& out, const RulesOptions& options) {
  const std::string t = prefix();
  const std::vector<const Family*> families{&kIPv4, &kIPv6};
  const char* portKey = "{ type inet_proto . inet_service : verdict ; }";
  for (const Family* f : families) {
    const std::string ipKey =
        cat("{ type ", f->addressType, " . inet_proto . inet_service : verdict ; }");
    line(out, "add map ", t, " ", named("service-ips", *f), " ", ipKey);
    line(out, "add map ", t, " ", named("service-nodeports", *f), " ", portKey);
    line(out, "add map ", t, " ", named("no-endpoint-services", *f), " ", ipKey);
    line(out, "add map ", t, " ", named("no-endpoint-nodeports", *f), " ", portKey);
    line(out, "add map ", t, " ", named("firewall-ips", *f), " ", ipKey);
    // The endpoints of the plain ports, by address (or NodePort) and index.
    line(out, "add map ", t, " ", named("service-endpoints", *f), " { typeof ", addressKey(*f),
         " . numgen random mod 1 : ", f->ip, " daddr . th dport ; }");
    line(out, "add map ", t, " ", named("nodeport-endpoints", *f), " { typeof ", kNodePortKey,
         " . numgen random mod 1 : ", f->ip, " daddr . th dport ; }");
    line(out, "add set ", t, " ", named(kHairpinSet, *f), " { type ", f->addressType, " . ",
         f->addressType, " ; }");
  }

  line(out, "add chain ", t, " mark-for-masquerade");
  line(out, "add rule ", t, " mark-for-masquerade meta mark set meta mark or ", kMasqueradeMark);
  line(out, "add chain ", t, " masquerading");
  line(out, "add rule ", t, " masquerading meta mark & ", kMasqueradeMark, " == 0 return");
  line(out, "add rule ", t, " masquerading meta mark set meta mark xor ", kMasqueradeMark);
  line(out, "add rule ", t, " masquerading masquerade fully-random");

  line(out, "add chain ", t, " services");
  for (const Family* f : families) {
    line(out, "add rule ", t, " services ", addressKey(*f), " vmap @", named("service-ips", *f));
    line(out, "add rule ", t, " services ", nodePortMatch(options, *f),
         " meta l4proto . th dport vmap @", named("service-nodeports", *f));
  }
  // nft 1.0.6 refuses the `dstnat` keyword on output; -100 is the same priority.
  line(out, "add chain ", t, " nat-prerouting { type nat hook prerouting priority -100 ; }");
  line(out, "add rule ", t, " nat-prerouting jump services");
  line(out, "add chain ", t, " nat-output { type nat hook output priority -100 ; }");
  line(out, "add rule ", t, " nat-output jump services");
  line(out, "add chain ", t, " nat-postrouting { type nat hook postrouting priority 100 ; }");
  // Hairpin: a pod DNATed to itself must see the reply come back through the node.
  for (const Family* f : families) {
    line(out, "add rule ", t, " nat-postrouting ct status dnat ", f->ip, " saddr . ", f->ip,
         " daddr @", named(kHairpinSet, *f), " jump mark-for-masquerade");
  }
  line(out, "add rule ", t, " nat-postrouting jump masquerading");

  // The shared chains of the plain ports, for each endpoint count. They are made here, once:
  // nft 1.0.6 cannot add a rule that uses the endpoint maps in a later transaction (it
  // misreads the maps' `th dport` from the kernel: "conflicting protocols specified").
  for (const Family* f : families) {
    const std::string& cidr = clusterCidrOf(options, *f);
    const std::string endpoints = named("service-endpoints", *f);
    for (std::size_t n = 1; n <= kSharedChainEndpoints; ++n) {
      const std::string cluster = clusterChain(n, *f);
      const std::string external = externalSharedChain(n, *f);
      const std::string nodePort = nodePortChain(n, *f);
      line(out, "add chain ", t, " ", cluster);
      if (!cidr.empty()) {
        line(out, "add rule ", t, " ", cluster, " ", f->ip, " saddr != ", cidr,
             " jump mark-for-masquerade");
      }
      line(out, "add rule ", t, " ", cluster, " ",
           dnatThroughMap(addressKey(*f), n, endpoints, *f));
      line(out, "add chain ", t, " ", external);
      line(out, "add rule ", t, " ", external, " jump mark-for-masquerade");
      line(out, "add rule ", t, " ", external, " ",
           dnatThroughMap(addressKey(*f), n, endpoints, *f));
      line(out, "add chain ", t, " ", nodePort);
      line(out, "add rule ", t, " ", nodePort, " jump mark-for-masquerade");
      line(out, "add rule ", t, " ", nodePort, " ",
           dnatThroughMap(kNodePortKey, n, named("nodeport-endpoints", *f), *f));
    }
  }

  // Service ports without endpoints refuse at once instead of timing out.
  line(out, "add chain ", t, " reject-chain");
  line(out, "add rule ", t, " reject-chain meta l4proto tcp reject with tcp reset");
  line(out, "add rule ", t, " reject-chain reject");
  line(out, "add chain ", t, " endpoints-check");
  for (const Family* f : families) {
    line(out, "add rule ", t, " endpoints-check ", addressKey(*f), " vmap @",
         named("no-endpoint-services", *f));
    line(out, "add rule ", t, " endpoints-check ", nodePortMatch(options, *f),
         " meta l4proto . th dport vmap @", named("no-endpoint-nodeports", *f));
  }
  for (const char* hook : {"input", "forward", "output"}) {
    const std::string chain = std::string("filter-") + hook;
    line(out, "add chain ", t, " ", chain, " { type filter hook ", hook, " priority -110 ; }");
    line(out, "add rule ", t, " ", chain, " ct state new jump endpoints-check");
  }

  // loadBalancerSourceRanges, before DNAT (-110 runs ahead of the nat chains' -100).
  line(out, "add chain ", t, " firewall-check");
  for (const Family* f : families) {
    line(out, "add rule ", t, " firewall-check ", addressKey(*f), " vmap @",
         named("firewall-ips", *f));
  }
  line(out, "add chain ", t, " filter-prerouting { type filter hook prerouting priority -110 ; }");
  line(out, "add rule ", t, " filter-prerouting jump firewall-check");
  line(out, "add rule ", t, " filter-output jump firewall-check");
  // route_localnet (for NodePorts on 127.0.0.1) would let other hosts reach the node's
  // loopback services: nothing from outside may be addressed to 127/8.
  if (localhostNodePorts(options)) {
    line(out, "add rule ", t, " filter-prerouting iifname != \"lo\" ip daddr 127.0.0.0/8 drop");
  }
}

}  // namespace text

bool localhostNodePorts(const RulesOptions& options) {
  if (options.nodePortAddresses.empty()) return true;
  return std::any_of(options.nodePortAddresses.begin(), options.nodePortAddresses.end(),
                     [](const std::string& cidr) { return cidr.rfind("127.", 0) == 0; });
}

ServicePortRender renderServicePort(const ServicePortState& p, const RulesOptions& options) {
  ServicePortRender r;
  const std::string proto = p.protocol;
  const std::string port = std::to_string(p.port);
  const Family& f = familyOf(p.clusterIP);
  if (!p.loadBalancerSourceRanges.empty() && !p.loadBalancerIPs.empty()) {
    const std::string fw = firewallChain(p);
    r.chains[fw] = {cat(f.ip, " saddr != { ", joined(p.loadBalancerSourceRanges), " } drop")};
    for (const auto& ip : p.loadBalancerIPs) {
      r.elements[named("firewall-ips", f)].push_back(
          cat(ip, " . ", proto, " . ", port, " : goto ", fw));
    }
  }

  if (p.endpoints.empty()) {
    const std::string verdict = " : goto reject-chain";
    auto& ips = r.elements[named("no-endpoint-services", f)];
    ips.push_back(p.clusterIP + " . " + proto + " . " + port + verdict);
    for (const auto& ip : p.externalIPs) ips.push_back(cat(ip, " . ", proto, " . ", port, verdict));
    if (p.nodePort > 0) {
      r.elements[named("no-endpoint-nodeports", f)].push_back(proto + " . " +
                                                              std::to_string(p.nodePort) + verdict);
    }
    return r;
  }
  for (const auto& e : p.endpoints) r.hairpin.insert(e.ip);
  if (balancedByMaps(p)) {
    renderThroughMaps(r, p);
  } else {
    renderOwnChains(r, p, options);
  }
  return r;
}

}  // namespace kite::proxy::nft
