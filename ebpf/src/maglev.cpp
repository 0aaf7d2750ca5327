#include "kite/ebpf/maglev.h"

#include <stdexcept>

namespace kite::ebpf {

namespace {

// FNV-1a, 64 bits, from a seed: two independent-enough hashes of one name.
uint64_t hashOf(const std::string& s, uint64_t seed) {
  uint64_t h = 14695981039346656037ULL ^ seed;
  for (const unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  // A final mix, so names differing in their last byte spread over the whole range.
  h ^= h >> 33U;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33U;
  return h;
}

}  // namespace

std::vector<uint32_t> maglevTable(const std::vector<std::string>& names, uint32_t size) {
  if (names.empty()) return {};
  if (size <= names.size()) throw std::invalid_argument("maglev: table smaller than backends");
  const std::size_t n = names.size();
  // Backend i's preference list is offset, offset + skip, offset + 2 skip ... (mod size): a
  // permutation of the table since size is prime and 0 < skip < size.
  std::vector<uint64_t> offset(n);
  std::vector<uint64_t> skip(n);
  std::vector<uint64_t> next(n, 0);
  for (std::size_t i = 0; i < n; ++i) {
    offset[i] = hashOf(names[i], 0x6d61676c65763031ULL) % size;
    skip[i] = hashOf(names[i], 0x6d61676c65763032ULL) % (size - 1) + 1;
  }
  constexpr uint32_t kEmpty = UINT32_MAX;
  std::vector<uint32_t> table(size, kEmpty);
  // Backends take turns claiming their next preferred free entry until the table is full.
  uint32_t filled = 0;
  while (true) {
    for (std::size_t i = 0; i < n; ++i) {
      uint64_t entry = (offset[i] + next[i] * skip[i]) % size;
      while (table[entry] != kEmpty) {
        ++next[i];
        entry = (offset[i] + next[i] * skip[i]) % size;
      }
      table[entry] = static_cast<uint32_t>(i);
      ++next[i];
      if (++filled == size) return table;
    }
  }
}

}  // namespace kite::ebpf
