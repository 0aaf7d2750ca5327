#pragma once
// The cluster DNS server: answers <svc>.<ns>.svc.<domain>, headless endpoints, SRV, pod and
// PTR names from the API server's Services and EndpointSlices (cluster_resolver.h has the
// names), forwards every other name to the upstream resolvers, over UDP and TCP on one port.
//
//   kite::dns::DnsServer dns(client, {.bindAddress = "10.0.0.1", .port = 53});
//   dns.start();   // informers synced (or syncTimeout passed), sockets bound, serving
//   ...
//   dns.stop();

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "kite/client/client.h"
#include "kite/dns/records.h"

namespace kite::dns {

struct DnsServerOptions {
  // An IPv4 or IPv6 literal; "0.0.0.0" listens on every IPv4 address.
  std::string bindAddress = "0.0.0.0";
  // 0: a free port, the same for UDP and TCP (port() tells which).
  std::uint16_t port = 53;
  std::string clusterDomain = "cluster.local";
  // Where the upstream resolvers come from (nameserver lines, loopback ones left out).
  std::string resolvConf = "/etc/resolv.conf";
  // When not empty, these upstreams ("ip", "ip:port", "[ipv6]:port") instead of resolvConf;
  // loopback allowed here (tests run a fake upstream on 127.0.0.1).
  std::vector<std::string> upstreams{};
  // How long one upstream has to answer before the next is asked.
  std::chrono::milliseconds upstreamTimeout{2000};
  std::uint32_t ttl = 5;
  // Threads answering UDP queries (forwarding blocks one for up to upstreamTimeout).
  std::size_t workers = 4;
  // start() waits this long for the informers; cluster names get SERVFAIL until they synced.
  std::chrono::milliseconds syncTimeout{10'000};
};

class DnsServer {
 public:
  // Records from informers on the API server behind client.
  DnsServer(client::Client& client, DnsServerOptions options);
  // Records from the caller (tests); they must outlive the server.
  DnsServer(const DnsRecords& records, DnsServerOptions options);
  ~DnsServer();
  DnsServer(const DnsServer&) = delete;
  DnsServer& operator=(const DnsServer&) = delete;

  // Binds UDP and TCP and starts serving. Throws std::runtime_error when the address cannot
  // be bound, std::invalid_argument for a bad option (named).
  void start();
  // Stops serving and joins every thread; idempotent. A server on a client cannot be started
  // again afterwards (its informers do not restart): make a new one.
  void stop();
  // The bound port (after start()).
  std::uint16_t port() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace kite::dns
