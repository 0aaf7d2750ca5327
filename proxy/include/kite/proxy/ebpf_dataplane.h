#pragma once
// The eBPF backend (`--proxy-mode ebpf`): Services translated at the socket, once per
// connection, by the cgroup programs of ebpf/ (kite_ebpf) attached at the cgroup v2 root, so
// every socket of the host and its pods reaches a backend directly. Syncs write map elements
// only (the programs are never reloaded); the programs stay pinned and serving across agent
// restarts until cleanup().
//
// Traffic arriving from outside the node (NodePort, externalIPs and LoadBalancer IPs, a
// ClusterIP routed to the node) never passes a socket here: it is left to the nftables table,
// which this backend keeps in sync as well unless `northSouth` is empty (ebpf/README.md).

#include <memory>
#include <optional>
#include <string>

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
