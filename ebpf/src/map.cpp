#include "kite/ebpf/map.h"

#include <bpf/bpf.h>

#include <cerrno>
#include <system_error>

namespace kite::ebpf::detail {

namespace {

[[noreturn]] void fail(int err, const std::string& what) {
  throw std::system_error(err, std::generic_category(), what);
}

}  // namespace

void put(int fd, const std::string& name, const void* key, const void* value) {
  if (bpf_map_update_elem(fd, key, value, BPF_ANY) != 0)
    fail(errno, "BPF map " + name + ": update");
}

bool erase(int fd, const std::string& name, const void* key) {
  if (bpf_map_delete_elem(fd, key) == 0) return true;
  if (errno == ENOENT) return false;
  fail(errno, "BPF map " + name + ": delete");
}

bool lookup(int fd, const std::string& name, const void* key, void* value) {
  if (bpf_map_lookup_elem(fd, key, value) == 0) return true;
  if (errno == ENOENT) return false;
  fail(errno, "BPF map " + name + ": lookup");
}

std::vector<std::vector<unsigned char>> keys(int fd, const std::string& name, std::size_t keySize) {
  std::vector<std::vector<unsigned char>> out;
  std::vector<unsigned char> previous(keySize);
  std::vector<unsigned char> next(keySize);
  bool first = true;  // the first call passes no key: start from the beginning
  while (bpf_map_get_next_key(fd, first ? nullptr : previous.data(), next.data()) == 0) {
    out.push_back(next);
    previous = next;
    first = false;
  }
  if (errno != ENOENT) fail(errno, "BPF map " + name + ": iterate");
  return out;
}

}  // namespace kite::ebpf::detail
