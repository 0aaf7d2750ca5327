#pragma once
// The kubelet's view of the mount table: mount, unmount, and what is mounted
// where. Volume plugins take a Mounter& so the kubelet's unit tests can pass a
// fake; newSystemMounter() is the real one (mount(2), umount2(2) and
// /proc/self/mountinfo). Mount propagation for containers (private, rslave,
// rshared) is the runtime's business through the CRI Mount, not this one's.

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace kite::volumes {

// One line of /proc/self/mountinfo (proc(5)), with octal escapes decoded.
struct MountInfo {
  int id = 0;
  int parentId = 0;
  unsigned major = 0;
  unsigned minor = 0;
  std::string root;                         // the mounted subtree of the source filesystem
  std::string mountPoint;                   // canonical path
  std::string options;                      // per-mount options, e.g. "rw,relatime"
  std::vector<std::string> optionalFields;  // "shared:1", "master:2", ...
  std::string fsType;
  std::string source;
  std::string superOptions;  // per-superblock options, e.g. "rw,size=1024k"
};

// Parses mountinfo text; malformed lines are skipped.
std::vector<MountInfo> parseMountInfo(std::string_view text);
// Reads and parses a mountinfo file.
std::vector<MountInfo> readMountInfo(const std::string& file = "/proc/self/mountinfo");

class Mounter {
 public:
  virtual ~Mounter() = default;

  // Mounts like mount(8) -o: options are flags ("bind", "rbind", "ro", "rw",
  // "nosuid", "nodev", "noexec", "noatime", "remount", and the propagation
  // flags "private", "rslave", ...) or filesystem data ("size=1048576",
  // "mode=0755"), the latter passed to the filesystem joined by ','.
  // A read-only bind mount is done in two steps, as mount(8) does.
  virtual void mount(const std::string& source, const std::string& target,
                     const std::string& fsType, const std::vector<std::string>& options) = 0;
  // Unmounts the topmost mount at target; an error if nothing is mounted there.
  virtual void unmount(const std::string& target) = 0;
  // The current mount table, in mount order.
  virtual std::vector<MountInfo> listMounts() = 0;
  // True when something is mounted exactly at path (after resolving
  // symlinks); false when path does not exist. Unlike a st_dev comparison with
  // the parent, this also sees bind mounts within one filesystem.
  virtual bool isMountPoint(const std::string& path) = 0;
};

std::unique_ptr<Mounter> newSystemMounter();

}  // namespace kite::volumes
