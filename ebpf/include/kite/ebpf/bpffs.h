#pragma once
// The filesystems the eBPF dataplane lives in: bpffs, where maps and links are pinned so the
// programs outlive the agent, and the cgroup v2 hierarchy the programs attach to.

#include <string>

namespace kite::ebpf {

inline constexpr const char* kBpffsRoot = "/sys/fs/bpf";

// Mounts a bpf filesystem at `root` unless one is there; throws std::runtime_error naming what
// is missing.
void ensureBpffs(const std::string& root = kBpffsRoot);

// Where the cgroup v2 hierarchy is mounted (/sys/fs/cgroup, or /sys/fs/cgroup/unified on a
// hybrid v1 host); throws std::runtime_error when there is none.
std::string cgroup2Root();

// Unpins everything in `dir` (an unpinned link detaches its program once nothing else holds
// it) and removes the directory. Returns false when `dir` did not exist.
bool removePinDir(const std::string& dir);

}  // namespace kite::ebpf
