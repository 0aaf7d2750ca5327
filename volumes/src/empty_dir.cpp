#include "kite/volumes/empty_dir.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>

#include "fs_util.h"
#include "kite/volumes/error.h"
#include "kite/volumes/ownership.h"

namespace kite::volumes {

namespace {

constexpr std::string_view kPluginDir = "kubernetes.io~empty-dir";
// Upstream's defaultPerm: every user of every container may write.
constexpr mode_t kVolumeMode = 0777;
constexpr mode_t kReadyDirMode = 0750;
constexpr mode_t kReadyFileMode = 0600;

void validateVolumeName(const std::string& name) {
  if (name.empty() || name == "." || name == ".." || name.find('/') != std::string::npos) {
    throw VolumeError(Reason::kInvalid, "invalid emptyDir volume name \"" + name + "\"");
  }
}

}  // namespace

StorageMedium parseStorageMedium(std::string_view medium) {
  if (medium.empty()) {
    return StorageMedium::kDefault;
  }
  if (medium == "Memory") {
    return StorageMedium::kMemory;
  }
  if (medium == "HugePages" || medium.substr(0, 10) == "HugePages-") {
    return StorageMedium::kHugePages;
  }
  throw VolumeError(Reason::kInvalid, "unknown storage medium \"" + std::string(medium) + "\"");
}

std::uint64_t memoryEmptyDirSize(std::uint64_t nodeAllocatableMemory,
                                 std::optional<std::uint64_t> podMemoryLimit,
                                 std::optional<std::uint64_t> volumeSizeLimit) {
  std::uint64_t size = nodeAllocatableMemory;
  if (podMemoryLimit && *podMemoryLimit > 0 && *podMemoryLimit <= size) {
    size = *podMemoryLimit;
  }
  if (volumeSizeLimit && *volumeSizeLimit > 0 && *volumeSizeLimit <= size) {
    size = *volumeSizeLimit;
  }
  return size;
}

EmptyDir::EmptyDir(Mounter& mounter, const std::string& podDir, const std::string& volumeName)
    : mounter_(mounter) {
  validateVolumeName(volumeName);
  path_ = detail::joinPath(podDir, "volumes/" + std::string(kPluginDir) + "/" + volumeName);
  readyDir_ = detail::joinPath(podDir, "plugins/" + std::string(kPluginDir) + "/" + volumeName);
}

void EmptyDir::setUp(const EmptyDirOptions& options) {
  if (options.medium == StorageMedium::kHugePages) {
    throw VolumeError(Reason::kNotSupported,
                      "emptyDir medium HugePages is not supported by kite (volume " + path_ + ")");
  }
  const auto mount = topMount();
  if (isReady()) {
    if (options.medium == StorageMedium::kMemory && mount) {
      return;
    }
    if (options.medium == StorageMedium::kDefault) {
      if (detail::statIfExists(path_)) {
        return;
      }
      // Someone removed the volume behind our back: set it up afresh.
      detail::removeAll(readyDir_);
    }
  }

  setUpDir();
  if (options.medium == StorageMedium::kMemory && !(mount && mount->fsType == "tmpfs")) {
    // Only size=, as upstream: the tmpfs root keeps the kernel's 1777.
    std::vector<std::string> mountOptions;
    if (options.sizeLimitBytes && *options.sizeLimitBytes > 0) {
      mountOptions.push_back("size=" + std::to_string(*options.sizeLimitBytes));
    }
    mounter_.mount("tmpfs", path_, "tmpfs", mountOptions);
  }
  if (options.fsGroup) {
    setVolumeOwnership(path_, *options.fsGroup, /*readOnly=*/false);
  }
  setReady();
}

void EmptyDir::tearDown() {
  detail::removeAll(readyDir_);
  if (!detail::lstatIfExists(path_)) {
    return;
  }
  if (const auto mount = topMount();
      mount && (mount->fsType == "tmpfs" || mount->fsType == "hugetlbfs")) {
    mounter_.unmount(path_);
  }
  detail::removeAll(path_);
}

bool EmptyDir::isReady() const {
  const auto st = detail::statIfExists(readyDir_ + "/ready");
  return st && S_ISREG(st->st_mode);
}

void EmptyDir::setReady() const {
  detail::makeDirs(readyDir_, kReadyDirMode);
  const std::string file = readyDir_ + "/ready";
  const detail::UniqueFd fd(
      ::open(file.c_str(), O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, kReadyFileMode));
  if (!fd.valid()) {
    detail::throwPathError("open", file, errno);
  }
}

void EmptyDir::setUpDir() const {
  detail::makeDirs(path_, kVolumeMode);
  const auto st = detail::lstatIfExists(path_);
  if (!st) {
    detail::throwPathError("lstat", path_, ENOENT);
  }
  // mkdir(2) applied the kubelet's umask; the volume must be exactly 0777.
  // Permission bits only: a mounted tmpfs keeps its sticky bit.
  if ((st->st_mode & 0777) != kVolumeMode && ::chmod(path_.c_str(), kVolumeMode) != 0) {
    detail::throwPathError("chmod", path_, errno);
  }
}

std::optional<MountInfo> EmptyDir::topMount() {
  if (!mounter_.isMountPoint(path_)) {
    return std::nullopt;
  }
  const std::string canonical = detail::realPath(path_);
  std::optional<MountInfo> top;
  // The last entry for a mount point is the one on top, the one we see.
  for (auto& mount : mounter_.listMounts()) {
    if (mount.mountPoint == canonical) {
      top = std::move(mount);
    }
  }
  return top;
}

}  // namespace kite::volumes
