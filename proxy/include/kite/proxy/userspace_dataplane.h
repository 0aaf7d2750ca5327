#pragma once
// The userspace backend (`--proxy-mode userspace`, and the fallback when nftables is not
// usable: packet_filter_probe.h): no packet filter at all, kite forwards the connections
// itself, as kube-proxy's old userspace mode did.
//
// The Service addresses (ClusterIPs, externalIPs, LoadBalancer IPs) are put on a dummy link
// of kite's own (`kite-svc0`, through netlink; a bridge without ports where the kernel has no
// dummy links), so the node accepts traffic to them; each
// Service port gets a listener there (and, for a NodePort, on the node's addresses), which
// relays TCP connections and UDP flows to endpoints picked round robin, or pinned per client
// for sessionAffinity ClientIP. A port without endpoints has no listener, so connections are
// refused (a TCP reset, an ICMP port unreachable for UDP) instead of hanging.
//
// Unlike the packet-filter modes, endpoints see the node's address as the client's (so
// externalTrafficPolicy Local keeps the choice of local endpoints but not the client IP),
// and the connections live in kite's process: they end when it exits. IPv4 and IPv6 alike:
// each family's Service port (a dual-stack port is two, desired_state.h) gets its own
// addresses on the link (IPv6 ones /128, without duplicate address detection so listeners
// bind them at once) and listeners of its family, relaying to endpoints of that family; a
// NodePort listens on "0.0.0.0" or "::" (IPv6-only sockets, so both families can have the
// port). SCTP is not relayed.
//
// One event-loop thread serves every listener and connection. It stays in the network
// namespace of the thread that made the dataplane, whoever calls sync later.

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "kite/proxy/dataplane.h"

namespace kite::proxy {

inline constexpr const char* kUserspaceLink = "kite-svc0";

struct UserspaceOptions {
  // The link that carries the Service addresses.
  std::string link = kUserspaceLink;
  // Its kind, the first one the kernel has: some VM kernels are built without dummy links,
  // and a bridge without ports carries local addresses just as well.
  std::vector<std::string> linkKinds{"dummy", "bridge"};
  // --nodeport-addresses: CIDRs of the local addresses NodePorts listen on, per family as
  // upstream: a family without CIDRs of its own listens on all its addresses (one wildcard
  // listener, 127.0.0.1 / ::1 included).
  std::vector<std::string> nodePortAddresses{};
  // How long a UDP flow without traffic keeps its endpoint (upstream's --udp-timeout).
  std::chrono::milliseconds udpIdleTimeout{250};
};

class UserspaceDataplane final : public Dataplane {
 public:
  // Creates the link (or takes over the one an earlier run left) and sets it up.
  // Throws std::invalid_argument for a malformed nodePortAddresses entry or link name,
  // std::system_error when the kernel refuses (no permission, no dummy link support).
  explicit UserspaceDataplane(UserspaceOptions options = {});
  // Stops forwarding; the link and its addresses stay until cleanup() (as rules do).
  ~UserspaceDataplane() override;
  UserspaceDataplane(const UserspaceDataplane&) = delete;
  UserspaceDataplane& operator=(const UserspaceDataplane&) = delete;

  // Makes the listeners and addresses match `state`; unchanged Service ports keep their
  // listeners and connections. Addresses on the link that no Service has are removed. A
  // listener that cannot be made (its port taken) does not stop the others: the sync throws
  // at the end, naming each, and the next full sync tries again.
  void syncAll(const DesiredState& state) override;
  // Only the Service ports that differ between the two states.
  void syncChanges(const DesiredState& applied, const DesiredState& next) override;
  // Closes every listener and relayed connection and deletes the link.
  void cleanup() override;

  // `kite proxy --cleanup` without starting anything: deletes the link. False when there was
  // none.
  static bool removeLink(const std::string& link = kUserspaceLink);

  // Relayed TCP connections now open (tests and metrics).
  std::size_t openConnections();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace kite::proxy
