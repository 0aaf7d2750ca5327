#pragma once
// What a volume uses on disk, measured as upstream's kubelet does without
// filesystem quotas: walk the tree without following symlinks and without
// crossing into other filesystems, count st_blocks * 512 and one inode per
// entry, each hard-linked inode once. The kubelet compares bytes with an
// emptyDir's sizeLimit to decide on eviction.

#include <cstdint>
#include <string>

namespace kite::volumes {

struct DiskUsage {
  std::uint64_t bytes = 0;
  std::uint64_t inodes = 0;
};

// Throws VolumeError (kNotFound when path does not exist).
DiskUsage diskUsage(const std::string& path);

inline std::uint64_t usageBytes(const std::string& path) { return diskUsage(path).bytes; }

}  // namespace kite::volumes
