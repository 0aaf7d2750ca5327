#pragma once
// The eBPF backend (`--proxy-mode ebpf`): Services translated at the socket, once per
// connection, by the cgroup programs of ebpf/ (kite_ebpf) attached at the cgroup v2 root, so
// every socket of the host and its pods reaches a backend directly. Syncs write map elements
// only (the programs are never reloaded); the programs stay pinned and serving across agent
// restarts until cleanup().
//
// Both families: an entry whose clusterIP is an IPv6 literal is served by the IPv6 hooks (its
// family is read from the address, never from the desired state's key). internalTrafficPolicy
// Local limits connects to the local endpoints (none here: the connect fails, EHOSTUNREACH).
//
// Traffic arriving from outside the node (NodePort, externalIPs and LoadBalancer IPs, a
// ClusterIP routed to the node) never passes a socket here: it is left to the nftables table,
// which this backend keeps in sync as well unless `northSouth` is empty (ebpf/README.md).

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "kite/proxy/dataplane.h"
#include "kite/proxy/nft_rules.h"

namespace kite::ebpf {
class SockLb;
}

namespace kite::proxy {

class NftablesDataplane;

struct EbpfOptions {
  std::string pinDir = "/sys/fs/bpf/kite";
  std::string cgroup;  // "" for the cgroup v2 root; tests attach to a child of their own
  // The nftables table for traffic from outside; std::nullopt: socket-level translation only.
  std::optional<nft::RulesOptions> northSouth = nft::RulesOptions{};
  // The node's own addresses (either family) whose NodePorts local sockets (the host's and its
  // pods') reach: translated at connect like a ClusterIP. Empty: such connects are left to the
  // nftables table's output and prerouting chains. 127.0.0.1 and ::1 do not belong here (a
  // pod's loopback is its own): NodePorts on localhost stay with nftables.
  std::vector<std::string> nodeAddresses{};
  // Backend choice: false picks one at random per connect; true by Maglev consistent hashing
  // of the client (its network namespace), so a client keeps its backend while the others
  // change (a table of KITE_MAGLEV_SIZE entries, 4 KiB, per Service port).
  bool maglev = false;
};

class EbpfDataplane final : public Dataplane {
 public:
  // Loads and attaches the programs (or takes over the pinned ones of an earlier run); throws
  // ebpf::LoadError saying what is missing (permission, cgroup v2, BTF, bpffs).
  explicit EbpfDataplane(EbpfOptions options);
  ~EbpfDataplane() override;
  EbpfDataplane(const EbpfDataplane&) = delete;
  EbpfDataplane& operator=(const EbpfDataplane&) = delete;

  void syncAll(const DesiredState& state) override;
  void syncChanges(const DesiredState& applied, const DesiredState& next) override;
  // Touches the map elements of the ports named in `keys` only (and hands them to the
  // nftables table), so one endpoint change costs the same at any N.
  void syncChangedKeys(const DesiredState& applied, const DesiredState& next,
                       const std::vector<std::string>& keys) override;
  // Detaches the programs, removes every pinned map and the nftables table.
  void cleanup() override;

  // `kite proxy --cleanup` without loading anything: the pinned programs and maps under
  // pinDir. Returns false when there were none.
  static bool removePinned(const std::string& pinDir = "/sys/fs/bpf/kite");

 private:
  class Maps;
  EbpfOptions options_;
  std::unique_ptr<Maps> maps_;
  std::unique_ptr<NftablesDataplane> northSouth_;
};

}  // namespace kite::proxy
