#pragma once
// The answers of the cluster zone, as the Kubernetes DNS specification has them
// (github.com/kubernetes/dns, docs/specification.md) and CoreDNS's kubernetes plugin gives them:
//   <svc>.<ns>.svc.<domain>            A/AAAA of the cluster IPs; of the ready endpoints when
//                                      headless; CNAME for ExternalName
//   <ep>.<svc>.<ns>.svc.<domain>       A/AAAA of a headless endpoint (its hostname, else its
//                                      address with dashes)
//   _<port>._<proto>.<svc>.<ns>.svc... SRV per named port (headless: one per endpoint)
//   a-b-c-d.<ns>.pod.<domain>          A of the address in the name (CoreDNS "pods insecure")
//   d.c.b.a.in-addr.arpa               PTR of Service and headless endpoint addresses
// A name under the domain that does not exist is NXDOMAIN; one that exists without records of
// the asked type is NOERROR with no answer (NODATA); both carry the zone's SOA in the
// authority section for negative caching. TTL 5 s, as CoreDNS's default.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "kite/dns/message.h"
#include "kite/dns/records.h"

namespace kite::dns {

struct ClusterAnswer {
  Message reply;
  // For an ExternalName CNAME pointing outside the cluster: the target, so the caller can
  // append its records from upstream (stub resolvers do not chase CNAMEs themselves).
  std::optional<std::string> chaseTarget;
};

class ClusterResolver {
 public:
  ClusterResolver(const DnsRecords& records, const std::string& clusterDomain,
                  std::uint32_t ttl = 5);

  // The reply to a query of one question; nullopt when the name is not the cluster's (outside
  // the domain, or a reverse name of an address the cluster does not know): forward it.
  std::optional<ClusterAnswer> answer(const Message& query) const;

  const std::string& domain() const { return domain_; }
  // Whether name is the domain or under it (case-insensitive).
  bool isClusterName(std::string_view name) const;

 private:
  struct Lookup;
  void lookupService(Lookup& out, const std::vector<std::string>& labels,
                     std::uint16_t qtype) const;
  void lookupPod(Lookup& out, const std::vector<std::string>& labels, std::uint16_t qtype) const;
  std::optional<ClusterAnswer> answerReverse(const Message& query, const std::string& name) const;
  ResourceRecord soa() const;

  const DnsRecords& records_;
  std::string domain_;
  std::uint32_t ttl_;
  std::uint32_t serial_;
};

}  // namespace kite::dns
