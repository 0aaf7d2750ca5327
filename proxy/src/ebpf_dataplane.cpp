#include "kite/proxy/ebpf_dataplane.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstdint>
#include <set>
#include <tuple>
#include <vector>

#include "kite/ebpf/sock_lb.h"
#include "kite/proxy/nftables_dataplane.h"

namespace kite::proxy {

namespace {

std::optional<__u8> protocolNumber(const std::string& protocol) {
  if (protocol == "tcp") return IPPROTO_TCP;
  if (protocol == "udp") return IPPROTO_UDP;
  return std::nullopt;  // SCTP: not translated at the socket (ebpf/README.md)
}

std::optional<__u32> ipv4(const std::string& address) {
  in_addr parsed{};
  if (inet_pton(AF_INET, address.c_str(), &parsed) != 1) return std::nullopt;
  return parsed.s_addr;
}

kite_backend backendOf(const EndpointTarget& endpoint) {
  kite_backend backend{};
  const auto address = ipv4(endpoint.ip);
  if (!address) {
    throw std::invalid_argument("eBPF proxy: endpoint address \"" + endpoint.ip + "\" is not IPv4");
  }
  backend.addr = *address;
  backend.port = htons(static_cast<uint16_t>(endpoint.port));
  return backend;
}

struct KeyLess {
  bool operator()(const kite_service_key& a, const kite_service_key& b) const {
    return std::tie(a.addr, a.port, a.proto) < std::tie(b.addr, b.port, b.proto);
  }
};
using KeySet = std::set<kite_service_key, KeyLess>;

// The addresses a Service port is reached at from a socket: its ClusterIP and external IPs.
KeySet virtualKeys(const ServicePortState& port) {
  KeySet keys;
  const auto protocol = protocolNumber(port.protocol);
  if (!protocol) return keys;
  std::vector<std::string> addresses = port.externalIPs;
  addresses.push_back(port.clusterIP);
  for (const auto& address : addresses) {
    const auto parsed = ipv4(address);
    if (!parsed) continue;  // IPv6: not served yet
    kite_service_key key{};
    key.addr = *parsed;
    key.port = htons(static_cast<uint16_t>(port.port));
    key.proto = *protocol;
    keys.insert(key);
  }
  return keys;
}

}  // namespace

// The maps as the proxy sees them. A Service port's backend list lives under a generation id;
// a change writes a new generation, points the port's virtual addresses at it (one element
// each, atomic for the programs) and then deletes the old one, so a connect never picks from
// a half-written list and a removed endpoint gets no new connection once the sync returns.
class EbpfDataplane::Maps {
 public:
  explicit Maps(const ebpf::SockLbOptions& options)
      : lb_(options),
        services_(lb_.services()),
        backends_(lb_.backends()),
        members_(lb_.members()) {
    // Pinned maps of an earlier run: new generations must not reuse their ids.
    for (const auto& key : backends_.keys()) nextId_ = std::max(nextId_, key.id + 1);
  }

  // Writes `port` (new or changed; `previous` is what was there, if anything).
  void upsert(const ServicePortState& port, const ServicePortState* previous) {
    const auto keys = virtualKeys(port);
    KeySet stale;
    if (previous != nullptr) stale = virtualKeys(*previous);
    std::vector<kite_service_value> old;
    for (const auto& key : keys) {
      if (auto value = services_.get(key)) old.push_back(*value);
    }
    for (const auto& key : stale) {
      if (keys.count(key) == 0) {
        if (auto value = services_.get(key)) old.push_back(*value);
      }
    }
    if (!keys.empty()) {
      kite_service_value value{};
      value.id = writeGeneration(port);
      value.count = static_cast<__u32>(port.endpoints.size());
      value.affinity_timeout = static_cast<__u32>(port.affinityTimeoutSeconds.value_or(0));
      for (const auto& key : keys) services_.put(key, value);
    }
    for (const auto& key : stale) {
      if (keys.count(key) == 0) services_.erase(key);
    }
    for (const auto& value : old) dropGeneration(value);
  }

  void remove(const ServicePortState& port) {
    std::vector<kite_service_value> old;
    for (const auto& key : virtualKeys(port)) {
      if (auto value = services_.get(key)) old.push_back(*value);
      services_.erase(key);
    }
    for (const auto& value : old) dropGeneration(value);
  }

  // After a full rewrite: every virtual address not in `state`, and every generation no
  // address points at, goes.
  void sweep(const DesiredState& state) {
    KeySet wanted;
    for (const auto& [name, port] : state.services) wanted.merge(virtualKeys(port));
    std::set<__u32> live;
    for (const auto& key : services_.keys()) {
      if (wanted.count(key) == 0) {
        services_.erase(key);
      } else if (auto value = services_.get(key)) {
        live.insert(value->id);
      }
    }
    for (const auto& key : backends_.keys()) {
      if (live.count(key.id) == 0) backends_.erase(key);
    }
    for (const auto& key : members_.keys()) {
      if (live.count(key.id) == 0) members_.erase(key);
    }
  }

 private:
  __u32 writeGeneration(const ServicePortState& port) {
    const __u32 id = nextId_++;
    for (std::size_t slot = 0; slot < port.endpoints.size(); ++slot) {
      const kite_backend backend = backendOf(port.endpoints[slot]);
      backends_.put({.id = id, .slot = static_cast<__u32>(slot)}, backend);
      if (port.affinityTimeoutSeconds) {
        kite_member_key member{};
        member.id = id;
        member.backend = backend;
        members_.put(member, static_cast<__u32>(slot));
      }
    }
    return id;
  }

  void dropGeneration(const kite_service_value& value) {
    for (__u32 slot = 0; slot < value.count; ++slot) {
      const kite_backend_key key{.id = value.id, .slot = slot};
      if (const auto backend = backends_.get(key)) {
        kite_member_key member{};
        member.id = value.id;
        member.backend = *backend;
        members_.erase(member);
        backends_.erase(key);
      }
    }
  }

  ebpf::SockLb lb_;
  ebpf::Map<kite_service_key, kite_service_value> services_;
  ebpf::Map<kite_backend_key, kite_backend> backends_;
  ebpf::Map<kite_member_key, __u32> members_;
  __u32 nextId_ = 1;
};

EbpfDataplane::EbpfDataplane(EbpfOptions options)
    : options_(std::move(options)),
      maps_(std::make_unique<Maps>(
          ebpf::SockLbOptions{.pinDir = options_.pinDir, .cgroup = options_.cgroup})) {
  if (options_.northSouth) northSouth_ = std::make_unique<NftablesDataplane>(*options_.northSouth);
}

EbpfDataplane::~EbpfDataplane() = default;

void EbpfDataplane::syncAll(const DesiredState& state) {
  if (!maps_) throw std::logic_error("eBPF proxy: synced after cleanup()");
  for (const auto& [name, port] : state.services) maps_->upsert(port, nullptr);
  maps_->sweep(state);
  if (northSouth_) northSouth_->syncAll(state);
}

void EbpfDataplane::syncChanges(const DesiredState& applied, const DesiredState& next) {
  if (!maps_) throw std::logic_error("eBPF proxy: synced after cleanup()");
  for (const auto& [name, port] : applied.services) {
    if (next.services.count(name) == 0) maps_->remove(port);
  }
  for (const auto& [name, port] : next.services) {
    const auto previous = applied.services.find(name);
    if (previous == applied.services.end()) {
      maps_->upsert(port, nullptr);
    } else if (!(previous->second == port)) {
      maps_->upsert(port, &previous->second);
    }
  }
  if (northSouth_) northSouth_->syncChanges(applied, next);
}

void EbpfDataplane::cleanup() {
  maps_.reset();  // our own descriptors would keep the links attached
  removePinned(options_.pinDir);
  if (northSouth_) northSouth_->cleanup();
}

bool EbpfDataplane::removePinned(const std::string& pinDir) {
  return ebpf::SockLb::removePinned(pinDir);
}

}  // namespace kite::proxy
