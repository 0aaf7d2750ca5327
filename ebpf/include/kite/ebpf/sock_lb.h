#pragma once
// The socket-level Service load balancer (bpf/sock_lb.bpf.c) loaded, pinned and attached:
// RAII over its libbpf skeleton. Maps are pinned in `pinDir` and reused when already there,
// links are pinned too, so the programs keep serving while no agent runs; a new SockLb swaps
// its freshly loaded programs into the pinned links atomically (no gap in service).
//
//   ebpf::SockLb lb({.pinDir = "/sys/fs/bpf/kite"});   // throws LoadError naming what is missing
//   lb.services().put(key, value);
//   ...
//   ebpf::SockLb::removePinned("/sys/fs/bpf/kite");     // detach and forget everything

#include <memory>
#include <stdexcept>
#include <string>

#include "kite/ebpf/map.h"
#include "kite/ebpf/maps.h"

namespace kite::ebpf {

inline constexpr const char* kDefaultPinDir = "/sys/fs/bpf/kite";

struct SockLbOptions {
  std::string pinDir = kDefaultPinDir;
  // The cgroup v2 directory the programs attach to; "" for the hierarchy's root (every socket
  // of the host and its pods). Tests use a child of their own.
  std::string cgroup;
};

// The programs cannot be loaded or attached here; what() says what is missing.
class LoadError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class SockLb {
 public:
  explicit SockLb(const SockLbOptions& options);
  ~SockLb();  // closes descriptors only: pinned programs stay attached
  SockLb(const SockLb&) = delete;
  SockLb& operator=(const SockLb&) = delete;

  Map<kite_service_key, kite_service_value> services() const;
  Map<kite_backend_key, kite_backend> backends() const;
  Map<kite_member_key, __u32> members() const;
  Map<__u32, kite_maglev_table> maglev() const;
  Map<kite_affinity_key, kite_affinity_value> affinity() const;
  Map<kite_revnat_key, kite_revnat_value> revnat() const;

  // The descriptor of one program by its section's function name (kite_connect4, ...): for
  // BPF_PROG_TEST_RUN in tests. -1 when there is no such program.
  int programFd(const std::string& name) const;

  // Detaches the programs and removes every map pinned in `pinDir` (`--cleanup`); no SockLb
  // needs to exist. Returns false when nothing was pinned there.
  static bool removePinned(const std::string& pinDir = kDefaultPinDir);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace kite::ebpf
