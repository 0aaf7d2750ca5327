#include "kite/proxy/ebpf_dataplane.h"

#include <arpa/inet.h>
#include <malloc.h>
#include <netinet/in.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <memory>
#include <set>
#include <stdexcept>
#include <vector>

#include "kite/ebpf/maglev.h"
#include "kite/ebpf/sock_lb.h"
#include "kite/proxy/nftables_dataplane.h"

namespace kite::proxy {

namespace {

std::optional<__u8> protocolNumber(const std::string& protocol) {
  if (protocol == "tcp") return IPPROTO_TCP;
  if (protocol == "udp") return IPPROTO_UDP;
  return std::nullopt;  // SCTP: not translated at the socket (ebpf/README.md)
}

using Address = std::array<__u32, 4>;

// An IPv4 or IPv6 address in maps.h's 16-byte form (IPv4 as ::ffff:a.b.c.d); the family is
// told by the text, whatever the Service's key says.
std::optional<Address> parseAddress(const std::string& text) {
  Address address{};
  in_addr v4{};
  if (inet_pton(AF_INET, text.c_str(), &v4) == 1) {
    address = {0, 0, htonl(0x0000ffff), v4.s_addr};
    return address;
  }
  in6_addr v6{};
  if (inet_pton(AF_INET6, text.c_str(), &v6) == 1) {
    std::memcpy(address.data(), &v6, sizeof(v6));
    return address;
  }
  return std::nullopt;
}

bool isIPv4(const Address& address) {
  return address[0] == 0 && address[1] == 0 && address[2] == htonl(0x0000ffff);
}

kite_backend backendOf(const EndpointTarget& endpoint, bool ipv4Service) {
  const auto address = parseAddress(endpoint.ip);
  if (!address || isIPv4(*address) != ipv4Service) {
    throw std::invalid_argument("eBPF proxy: endpoint address \"" + endpoint.ip + "\" is not an " +
                                (ipv4Service ? "IPv4" : "IPv6") + " address like its Service's");
  }
  kite_backend backend{};
  std::copy(address->begin(), address->end(), std::begin(backend.addr));
  backend.port = htons(static_cast<uint16_t>(endpoint.port));
  return backend;
}

// The endpoints a connect from a socket on this node may go to: all of them, or this node's
// only (internalTrafficPolicy Local). Local sockets reaching an externalIP take the same path
// in the nftables table (its external chains send node-local sources to the service chain).
std::vector<EndpointTarget> reachableEndpoints(const ServicePortState& port) {
  return port.internalPolicyLocal ? port.localEndpoints() : port.endpoints;
}

struct KeyLess {
  bool operator()(const kite_service_key& a, const kite_service_key& b) const {
    return std::memcmp(&a, &b, sizeof(a)) < 0;
  }
};
using KeySet = std::set<kite_service_key, KeyLess>;

// The addresses a Service port is reached at from a socket: its ClusterIP and external IPs at
// its port, and the node addresses given in EbpfOptions at its NodePort; those of its family.
KeySet virtualKeys(const ServicePortState& port, const std::vector<std::string>& nodeAddresses) {
  KeySet keys;
  const auto protocol = protocolNumber(port.protocol);
  if (!protocol) return keys;
  const auto clusterIP = parseAddress(port.clusterIP);
  if (!clusterIP) return keys;
  const auto add = [&](const std::string& address, int32_t number) {
    const auto parsed = parseAddress(address);
    if (!parsed || isIPv4(*parsed) != isIPv4(*clusterIP)) return;  // not this entry's family
    kite_service_key key{};
    std::copy(parsed->begin(), parsed->end(), std::begin(key.addr));
    key.port = htons(static_cast<uint16_t>(number));
    key.proto = *protocol;
    keys.insert(key);
  };
  add(port.clusterIP, port.port);
  for (const auto& address : port.externalIPs) add(address, port.port);
  if (port.nodePort > 0) {
    for (const auto& address : nodeAddresses) add(address, port.nodePort);
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
  Maps(const ebpf::SockLbOptions& options, std::vector<std::string> nodeAddresses, bool maglev)
      : nodeAddresses_(std::move(nodeAddresses)),
        maglev_(maglev),
        lb_(options),
        services_(lb_.services()),
        backends_(lb_.backends()),
        members_(lb_.members()),
        maglevTables_(lb_.maglev()) {
    // Pinned maps of an earlier run: new generations must not reuse their ids (inline
    // generations have theirs only in the Service elements).
    for (const auto& key : backends_.keys()) nextId_ = std::max(nextId_, key.id + 1);
    for (const auto& key : services_.keys()) {
      if (const auto value = services_.get(key)) nextId_ = std::max(nextId_, value->id + 1);
    }
  }

  // Writes `port` (new or changed; `previous` is what was there, if anything).
  void upsert(const ServicePortState& port, const ServicePortState* previous) {
    const auto keys = virtualKeys(port, nodeAddresses_);
    KeySet stale;
    if (previous != nullptr) stale = virtualKeys(*previous, nodeAddresses_);
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
      const auto endpoints = reachableEndpoints(port);
      kite_service_value value{};
      value.count = static_cast<__u32>(endpoints.size());
      value.affinity_timeout = static_cast<__u32>(port.affinityTimeoutSeconds.value_or(0));
      if (endpoints.empty() && !port.endpoints.empty()) {
        value.flags = KITE_SERVICE_NO_LOCAL_ENDPOINTS;
      }
      if (maglev_ && !endpoints.empty()) {
        value.flags |= KITE_SERVICE_MAGLEV;
      } else if (!endpoints.empty() && endpoints.size() <= KITE_INLINE_BACKENDS) {
        value.flags |= KITE_SERVICE_INLINE;
      }
      value.id = writeGeneration(port, endpoints, value);
      for (const auto& key : keys) services_.put(key, value);
    }
    for (const auto& key : stale) {
      if (keys.count(key) == 0) services_.erase(key);
    }
    for (const auto& value : old) dropGeneration(value);
  }

  void remove(const ServicePortState& port) {
    std::vector<kite_service_value> old;
    for (const auto& key : virtualKeys(port, nodeAddresses_)) {
      if (auto value = services_.get(key)) old.push_back(*value);
      services_.erase(key);
    }
    for (const auto& value : old) dropGeneration(value);
  }

  // After a full rewrite: every virtual address not in `state`, and every generation no
  // address points at, goes.
  void sweep(const DesiredState& state) {
    KeySet wanted;
    for (const auto& [name, port] : state.services) wanted.merge(virtualKeys(port, nodeAddresses_));
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
    for (const auto& id : maglevTables_.keys()) {
      if (live.count(id) == 0) maglevTables_.erase(id);
    }
  }

 private:
  // Writes the backend list: into `value` when it is kept inline, else into kite_backends.
  __u32 writeGeneration(const ServicePortState& port, const std::vector<EndpointTarget>& endpoints,
                        kite_service_value& value) {
    const __u32 id = nextId_++;
    const auto clusterIP = parseAddress(port.clusterIP);
    const bool ipv4Service = !clusterIP || isIPv4(*clusterIP);
    const bool inlined = (value.flags & KITE_SERVICE_INLINE) != 0U;
    for (std::size_t slot = 0; slot < endpoints.size(); ++slot) {
      const kite_backend backend = backendOf(endpoints[slot], ipv4Service);
      if (inlined) {
        value.backends[slot] = backend;  // slot < KITE_INLINE_BACKENDS: upsert checked
      } else {
        backends_.put({.id = id, .slot = static_cast<__u32>(slot)}, backend);
      }
      if (port.affinityTimeoutSeconds) {
        kite_member_key member{};
        member.id = id;
        member.backend = backend;
        members_.put(member, static_cast<__u32>(slot));
      }
    }
    if (maglev_ && !endpoints.empty()) {
      // Places by "ip:port", so a backend keeps its entries whatever its slot in this list.
      std::vector<std::string> names;
      names.reserve(endpoints.size());
      for (const auto& e : endpoints) names.push_back(e.ip + ":" + std::to_string(e.port));
      const auto entries = ebpf::maglevTable(names, KITE_MAGLEV_SIZE);
      auto table = std::make_unique<kite_maglev_table>();
      std::copy(entries.begin(), entries.end(), std::begin(table->slot));
      maglevTables_.put(id, *table);
    }
    return id;
  }

  void dropGeneration(const kite_service_value& value) {
    if ((value.flags & KITE_SERVICE_MAGLEV) != 0U) maglevTables_.erase(value.id);
    if ((value.flags & KITE_SERVICE_INLINE) != 0U) {
      for (__u32 slot = 0; slot < value.count && slot < KITE_INLINE_BACKENDS; ++slot) {
        kite_member_key member{};
        member.id = value.id;
        member.backend = value.backends[slot];
        members_.erase(member);
      }
      return;
    }
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

  std::vector<std::string> nodeAddresses_;
  bool maglev_;
  ebpf::SockLb lb_;
  ebpf::Map<kite_service_key, kite_service_value> services_;
  ebpf::Map<kite_backend_key, kite_backend> backends_;
  ebpf::Map<kite_member_key, __u32> members_;
  ebpf::Map<__u32, kite_maglev_table> maglevTables_;
  __u32 nextId_ = 1;
};

EbpfDataplane::EbpfDataplane(EbpfOptions options)
    : options_(std::move(options)),
      maps_(std::make_unique<Maps>(
          ebpf::SockLbOptions{.pinDir = options_.pinDir, .cgroup = options_.cgroup},
          options_.nodeAddresses, options_.maglev)) {
  if (options_.northSouth) northSouth_ = std::make_unique<NftablesDataplane>(*options_.northSouth);
}

EbpfDataplane::~EbpfDataplane() = default;

void EbpfDataplane::syncAll(const DesiredState& state) {
  if (!maps_) throw std::logic_error("eBPF proxy: synced after cleanup()");
  for (const auto& [name, port] : state.services) maps_->upsert(port, nullptr);
  maps_->sweep(state);
  if (northSouth_) northSouth_->syncAll(state);
  // The sweep's key sets and the map reads of a large state were freed again: give those
  // pages back to the system instead of keeping the peak for the process's life.
  malloc_trim(0);
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

void EbpfDataplane::syncChangedKeys(const DesiredState& applied, const DesiredState& next,
                                    const std::vector<std::string>& keys) {
  if (!maps_) throw std::logic_error("eBPF proxy: synced after cleanup()");
  // Only the named ports may differ: each is looked up in both states, the others untouched.
  for (const auto& name : keys) {
    const auto previous = applied.services.find(name);
    const auto current = next.services.find(name);
    if (current == next.services.end()) {
      if (previous != applied.services.end()) maps_->remove(previous->second);
    } else if (previous == applied.services.end()) {
      maps_->upsert(current->second, nullptr);
    } else if (!(previous->second == current->second)) {
      maps_->upsert(current->second, &previous->second);
    }
  }
  if (northSouth_) northSouth_->syncChangedKeys(applied, next, keys);
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
