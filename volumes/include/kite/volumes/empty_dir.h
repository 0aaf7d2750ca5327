#pragma once
// emptyDir volumes: a per-pod directory that lives as long as the pod, laid
// out as upstream's kubelet lays it out so tools that inspect a node find it:
//   <podDir>/volumes/kubernetes.io~empty-dir/<volumeName>   the volume
//   <podDir>/plugins/kubernetes.io~empty-dir/<volumeName>/ready
// The ready file makes setUp idempotent across kubelet restarts without
// touching a volume the pod has already changed (its mode, for instance).

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "kite/volumes/mounter.h"

namespace kite::volumes {

enum class StorageMedium {
  kDefault,    // "": a directory on the node's disk, mode 0777 as upstream
  kMemory,     // "Memory": a tmpfs mounted on that directory
  kHugePages,  // "HugePages", "HugePages-<size>": refused by kite (kNotSupported)
};

// Throws kInvalid for anything else ("unknown storage medium \"X\"").
StorageMedium parseStorageMedium(std::string_view medium);

struct EmptyDirOptions {
  StorageMedium medium = StorageMedium::kDefault;
  // Memory only: the tmpfs size= in bytes; nullopt or 0 leaves the kernel's
  // default (half of RAM). For disk, sizeLimit is enforced by eviction
  // (diskUsage), not here.
  std::optional<std::uint64_t> sizeLimitBytes;
  // The pod's fsGroup, applied with setVolumeOwnership (read-write).
  std::optional<gid_t> fsGroup;
};

// The tmpfs size upstream gives a Memory emptyDir: node allocatable memory,
// lowered to the pod's memory limit and then to the volume's sizeLimit when
// those are set and smaller (a zero limit counts as unset).
std::uint64_t memoryEmptyDirSize(std::uint64_t nodeAllocatableMemory,
                                 std::optional<std::uint64_t> podMemoryLimit,
                                 std::optional<std::uint64_t> volumeSizeLimit);

class EmptyDir {
 public:
  // volumeName must be one path component. Throws kInvalid otherwise.
  EmptyDir(Mounter& mounter, const std::string& podDir, const std::string& volumeName);

  // Where the volume lives on the host: what the runtime bind-mounts.
  const std::string& path() const { return path_; }

  // Creates the directory (and mounts the tmpfs for Memory). Calling it again
  // for a volume that is already set up changes nothing.
  void setUp(const EmptyDirOptions& options);

  // Unmounts a tmpfs (found via the mount table, so the medium need not be
  // known, e.g. after a kubelet restart) and removes the directory. Nothing
  // to do when it is gone already.
  void tearDown();

 private:
  bool isReady() const;
  void setReady() const;
  void setUpDir() const;
  std::optional<MountInfo> topMount();

  Mounter& mounter_;
  std::string path_;
  std::string readyDir_;
};

}  // namespace kite::volumes
