#pragma once
// Maglev-style consistent hashing (Eisenbud et al., NSDI 2016): a lookup table of a prime size
// in which every backend owns an almost equal share of entries (shares differ by at most one)
// and a change of backends moves few entries of the others. The eBPF dataplane writes one per
// Service port generation when EbpfOptions::maglev is on (kite_maglev in maps.h).
//
//   auto table = ebpf::maglevTable({"10.42.1.2:8080", "10.42.2.2:8080"}, KITE_MAGLEV_SIZE);
//   // table[i] is an index into the names

#include <cstdint>
#include <string>
#include <vector>

namespace kite::ebpf {

// Each backend's place is its name (stable across syncs and nodes, e.g. "ip:port"); `size`
// must be a prime larger than names.size(). Empty names: an empty table.
std::vector<uint32_t> maglevTable(const std::vector<std::string>& names, uint32_t size);

}  // namespace kite::ebpf
