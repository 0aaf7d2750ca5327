// The cluster zone's answers (see cluster_resolver.h for the names served).

#include "kite/dns/cluster_resolver.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kite::dns {
namespace {

std::vector<std::string> splitName(std::string_view name) {
  std::vector<std::string> labels;
  std::size_t start = 0;
  while (start <= name.size() && !name.empty()) {
    const std::size_t dot = name.find('.', start);
    if (dot == std::string_view::npos) {
      labels.emplace_back(name.substr(start));
      break;
    }
    labels.emplace_back(name.substr(start, dot - start));
    start = dot + 1;
  }
  return labels;
}

bool isIPv6(std::string_view ip) { return ip.find(':') != std::string_view::npos; }

bool wants(std::uint16_t qtype, std::uint16_t rrtype) {
  return qtype == rrtype || qtype == type::ANY;
}

// A or AAAA for an address of the matching family; nothing for the other family.
void addAddress(std::vector<ResourceRecord>& out, const std::string& name, std::uint32_t ttl,
                const std::string& ip, std::uint16_t qtype) {
  try {
    if (isIPv6(ip)) {
      if (wants(qtype, type::AAAA)) out.push_back(aaaaRecord(name, ttl, ip));
    } else if (wants(qtype, type::A)) {
      out.push_back(aRecord(name, ttl, ip));
    }
  } catch (const std::invalid_argument&) {
    // An address the API let through but that is not an IP (e.g. an FQDN slice): no record.
  }
}

// The label of a headless endpoint: its hostname, else its address with dashes.
std::string endpointLabel(const EndpointRecord& ep) {
  if (!ep.hostname.empty()) return lowerName(ep.hostname);
  std::string label = ep.address;
  std::replace(label.begin(), label.end(), '.', '-');
  std::replace(label.begin(), label.end(), ':', '-');
  return label;
}

std::string protocolLabel(const PortRecord& p) {
  return "_" + lowerName(p.protocol.empty() ? "TCP" : p.protocol);
}

// "1-2-3-4" -> "1.2.3.4"; "fd00--1" -> "fd00::1"; nullopt when it is not an address.
std::optional<std::string> addressOfPodLabel(const std::string& label) {
  std::string v4 = label;
  std::replace(v4.begin(), v4.end(), '-', '.');
  std::uint8_t buf[16];
  if (inet_pton(AF_INET, v4.c_str(), buf) == 1) return v4;
  std::string v6 = label;
  std::replace(v6.begin(), v6.end(), '-', ':');
  if (inet_pton(AF_INET6, v6.c_str(), buf) == 1) return v6;
  return std::nullopt;
}

// "4.3.2.1.in-addr.arpa" -> "1.2.3.4"; nibble names of ip6.arpa -> the IPv6 address.
std::optional<std::string> addressOfReverseName(const std::string& name) {
  constexpr std::string_view kV4 = ".in-addr.arpa";
  constexpr std::string_view kV6 = ".ip6.arpa";
  if (name.ends_with(kV4)) {
    auto labels = splitName(name.substr(0, name.size() - kV4.size()));
    if (labels.size() != 4) return std::nullopt;
    std::reverse(labels.begin(), labels.end());
    const std::string ip = labels[0] + "." + labels[1] + "." + labels[2] + "." + labels[3];
    std::uint8_t buf[4];
    if (inet_pton(AF_INET, ip.c_str(), buf) != 1) return std::nullopt;
    return ip;
  }
  if (name.ends_with(kV6)) {
    auto labels = splitName(name.substr(0, name.size() - kV6.size()));
    if (labels.size() != 32) return std::nullopt;
    std::reverse(labels.begin(), labels.end());
    std::string text;
    for (std::size_t i = 0; i < labels.size(); ++i) {
      if (labels[i].size() != 1 || !std::isxdigit(static_cast<unsigned char>(labels[i][0]))) {
        return std::nullopt;
      }
      if (i > 0 && i % 4 == 0) text.push_back(':');
      text += labels[i];
    }
    std::uint8_t buf[16];
    if (inet_pton(AF_INET6, text.c_str(), buf) != 1) return std::nullopt;
    char canonical[INET6_ADDRSTRLEN];
    if (inet_ntop(AF_INET6, buf, canonical, sizeof(canonical)) == nullptr) return std::nullopt;
    return std::string(canonical);
  }
  return std::nullopt;
}

}  // namespace

struct ClusterResolver::Lookup {
  std::string name;  // the full query name, as asked
  bool exists = false;
  std::vector<ResourceRecord> answers;
  std::vector<ResourceRecord> additionals;
  std::optional<std::string> chaseTarget;
};

ClusterResolver::ClusterResolver(const DnsRecords& records, const std::string& clusterDomain,
                                 std::uint32_t ttl)
    : records_(records),
      domain_(lowerName(clusterDomain)),
      ttl_(ttl),
      serial_(static_cast<std::uint32_t>(std::chrono::duration_cast<std::chrono::seconds>(
                                             std::chrono::system_clock::now().time_since_epoch())
                                             .count())) {
  while (domain_.ends_with('.')) domain_.pop_back();
}

bool ClusterResolver::isClusterName(std::string_view name) const {
  const std::string lower = lowerName(name);
  return lower == domain_ || lower.ends_with("." + domain_);
}

ResourceRecord ClusterResolver::soa() const {
  return soaRecord(domain_, ttl_,
                   {.mname = "ns.dns." + domain_,
                    .rname = "hostmaster." + domain_,
                    .serial = serial_,
                    .refresh = 7200,
                    .retry = 1800,
                    .expire = 86400,
                    .minimum = ttl_});
}

std::optional<ClusterAnswer> ClusterResolver::answer(const Message& query) const {
  if (query.questions.size() != 1) return std::nullopt;
  const Question& q = query.questions.front();
  std::string name = lowerName(q.name);
  if (name != domain_ && !name.ends_with("." + domain_)) return answerReverse(query, name);

  Lookup look;
  look.name = q.name;  // answers echo the asker's case (some resolvers randomise it)
  std::vector<std::string> labels;
  if (name != domain_) labels = splitName(name.substr(0, name.size() - domain_.size() - 1));
  if (q.klass != kClassIN && q.klass != type::ANY) {
    // Only class IN lives in this zone.
    look.exists = false;
  } else if (labels.empty()) {
    look.exists = true;
    if (wants(q.type, type::SOA)) look.answers.push_back(soa());
  } else if (labels.back() == "svc") {
    lookupService(look, labels, q.type);
  } else if (labels.back() == "pod") {
    lookupPod(look, labels, q.type);
  }

  ClusterAnswer out;
  out.reply = makeReply(query, look.exists ? Rcode::NoError : Rcode::NXDomain);
  out.reply.header.aa = true;
  out.reply.answers = std::move(look.answers);
  out.reply.additionals = std::move(look.additionals);
  out.chaseTarget = std::move(look.chaseTarget);
  // Negative answers (NXDOMAIN, NODATA) carry the SOA whose minimum bounds their caching.
  if (out.reply.answers.empty()) out.reply.authorities.push_back(soa());
  return out;
}

void ClusterResolver::lookupService(Lookup& out, const std::vector<std::string>& labels,
                                    std::uint16_t qtype) const {
  const std::size_t k = labels.size();
  if (k == 1) {  // svc.<domain>
    out.exists = true;
    return;
  }
  const std::string& ns = labels[k - 2];
  if (k == 2) {  // <ns>.svc.<domain>
    out.exists = records_.hasNamespace(ns);
    return;
  }
  const std::string& svcName = labels[k - 3];
  const auto svc = records_.service(ns, svcName);
  if (!svc) return;
  const std::string svcFqdn = svcName + "." + ns + ".svc." + domain_;

  if (k == 3) {  // <svc>.<ns>.svc.<domain>
    out.exists = true;
    if (svc->type == "ExternalName") {
      if (svc->externalName.empty()) return;
      std::string target = lowerName(svc->externalName);
      while (target.ends_with('.')) target.pop_back();
      out.answers.push_back(nameRecord(out.name, type::CNAME, ttl_, target));
      if (qtype != type::CNAME) out.chaseTarget = target;
      return;
    }
    if (svc->headless) {
      for (const auto& ep : records_.endpoints(ns, svcName)) {
        addAddress(out.answers, out.name, ttl_, ep.address, qtype);
      }
    } else {
      for (const auto& ip : svc->clusterIPs) addAddress(out.answers, out.name, ttl_, ip, qtype);
    }
    return;
  }

  if (k == 4 && !labels[0].starts_with('_')) {  // <endpoint>.<svc>.<ns>.svc.<domain>
    if (!svc->headless) return;
    for (const auto& ep : records_.endpoints(ns, svcName)) {
      if (endpointLabel(ep) != labels[0]) continue;
      out.exists = true;
      addAddress(out.answers, out.name, ttl_, ep.address, qtype);
    }
    return;
  }

  // _<port>._<proto>.<svc>.<ns>.svc.<domain>, and _<proto>.<svc>... which exists (with no
  // records) when some named port has that protocol.
  const std::string& proto = labels[k - 4];
  const std::string* portName = k == 5 ? &labels[0] : nullptr;
  if (k > 5 || !proto.starts_with('_') || (portName && !portName->starts_with('_'))) return;
  std::vector<PortRecord> matching;
  for (const auto& p : svc->ports) {
    if (p.name.empty() || protocolLabel(p) != proto) continue;
    if (portName && "_" + lowerName(p.name) != *portName) continue;
    matching.push_back(p);
  }
  if (matching.empty()) return;
  out.exists = true;
  if (!portName || !wants(qtype, type::SRV)) return;

  if (!svc->headless) {
    for (const auto& p : matching) {
      out.answers.push_back(srvRecord(
          out.name, ttl_, {.priority = 0, .weight = 100, .port = p.port, .target = svcFqdn}));
    }
    for (const auto& ip : svc->clusterIPs)
      addAddress(out.additionals, svcFqdn, ttl_, ip, type::ANY);
    return;
  }
  // Headless: one SRV per ready endpoint serving the port, pointing at the endpoint's name.
  const auto endpoints = records_.endpoints(ns, svcName);
  std::vector<std::pair<std::string, std::uint16_t>> targets;
  for (const auto& ep : endpoints) {
    for (const auto& p : ep.ports) {
      if ("_" + lowerName(p.name) != *portName || protocolLabel(p) != proto) continue;
      const std::string target = endpointLabel(ep) + "." + svcFqdn;
      targets.emplace_back(target, p.port);
      addAddress(out.additionals, target, ttl_, ep.address, type::ANY);
    }
  }
  const auto weight = static_cast<std::uint16_t>(targets.empty() ? 0 : 100 / targets.size());
  for (const auto& [target, port] : targets) {
    out.answers.push_back(srvRecord(
        out.name, ttl_, {.priority = 0, .weight = weight, .port = port, .target = target}));
  }
}

void ClusterResolver::lookupPod(Lookup& out, const std::vector<std::string>& labels,
                                std::uint16_t qtype) const {
  const std::size_t k = labels.size();
  if (k <= 2) {  // pod.<domain>, <ns>.pod.<domain>
    out.exists = true;
    return;
  }
  if (k != 3) return;
  const auto ip = addressOfPodLabel(labels[0]);
  if (!ip) return;
  out.exists = true;
  addAddress(out.answers, out.name, ttl_, *ip, qtype);
}

std::optional<ClusterAnswer> ClusterResolver::answerReverse(const Message& query,
                                                            const std::string& name) const {
  const auto ip = addressOfReverseName(name);
  if (!ip) return std::nullopt;
  const auto names = records_.namesOfAddress(*ip);
  if (names.empty()) return std::nullopt;
  ClusterAnswer out;
  out.reply = makeReply(query, Rcode::NoError);
  out.reply.header.aa = true;
  const Question& q = query.questions.front();
  if (wants(q.type, type::PTR) && (q.klass == kClassIN || q.klass == type::ANY)) {
    for (const auto& n : names) {
      out.reply.answers.push_back(nameRecord(q.name, type::PTR, ttl_, n + "." + domain_));
    }
  }
  if (out.reply.answers.empty()) out.reply.authorities.push_back(soa());
  return out;
}

}  // namespace kite::dns
