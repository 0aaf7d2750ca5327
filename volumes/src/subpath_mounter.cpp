#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <system_error>

#include "fs_util.h"
#include "kite/volumes/error.h"
#include "kite/volumes/subpath.h"
#include "safe_path.h"

namespace kite::volumes {

namespace {

constexpr std::string_view kSubPathsDir = "volume-subpaths";
constexpr mode_t kBindDirMode = 0750;
constexpr mode_t kBindFileMode = 0640;

void validateName(const std::string& what, const std::string& name) {
  if (name.empty() || name == "." || name == ".." || name.find('/') != std::string::npos) {
    throw VolumeError(Reason::kInvalid, "invalid " + what + " \"" + name + "\" for a subPath");
  }
}

std::string volumeMountText(const SubPathMount& request) {
  return "volumeMount \"" + request.volumeName + "\" of container \"" + request.containerName +
         "\"";
}

// Upstream keeps host paths out of pod events: the user gets a plain
// sentence, the log gets the cause.
[[noreturn]] void rethrowForUser(const VolumeError& e, const std::string& sentence) {
  throw VolumeError(e.reason(), sentence,
                    e.detail().empty() ? e.what() : std::string(e.what()) + ": " + e.detail(),
                    e.sysErrno());
}

bool sameFile(const std::string& a, const std::string& b) {
  const auto sa = detail::lstatIfExists(a);
  const auto sb = detail::lstatIfExists(b);
  return sa && sb && sa->st_dev == sb->st_dev && sa->st_ino == sb->st_ino;
}

// Removes empty directories from endDir up to (not including) baseDir.
void removeEmptyDirs(const std::string& baseDir, const std::string& endDir) {
  for (std::string dir = endDir; dir != baseDir && detail::pathWithinBase(dir, baseDir);
       dir = dir.substr(0, dir.rfind('/'))) {
    if (::rmdir(dir.c_str()) != 0 && errno != ENOENT) {
      return;  // not empty (or not ours to remove): stop climbing
    }
  }
}

}  // namespace

std::string SubPathMounter::bindTarget(const SubPathMount& request) {
  return detail::joinPath(request.podDir, std::string(kSubPathsDir) + "/" + request.volumeName +
                                              "/" + request.containerName + "/" +
                                              std::to_string(request.volumeMountIndex));
}

std::string SubPathMounter::prepare(const SubPathMount& request) {
  validateName("volume name", request.volumeName);
  validateName("container name", request.containerName);
  if (request.volumeMountIndex < 0) {
    throw VolumeError(Reason::kInvalid,
                      "invalid volumeMount index " + std::to_string(request.volumeMountIndex));
  }
  validateSubPath(request.subPath);

  detail::ResolvedSubPath joined;
  try {
    joined = detail::makeSubPath(request.volumePath, request.subPath);
  } catch (const VolumeError& e) {
    rethrowForUser(e, "failed to create subPath directory for " + volumeMountText(request));
  }

  std::string target = bindTarget(request);
  try {
    const auto resolved = detail::resolveWithinVolume(joined);
    // Held until the bind mount is done: the mount source is this very fd.
    const detail::UniqueFd fd = detail::safeOpen(resolved.path, resolved.volume);

    if (mounter_.isMountPoint(target)) {
      if (sameFile(resolved.path, target)) {
        return target;
      }
      mounter_.unmount(target);  // a bind of something else: replace it
    }

    const auto source = detail::lstatIfExists(resolved.path);
    if (!source) {
      detail::throwPathError("lstat", resolved.path, ENOENT);
    }
    detail::makeDirs(target.substr(0, target.rfind('/')), kBindDirMode);
    if (S_ISDIR(source->st_mode)) {
      if (::mkdir(target.c_str(), kBindDirMode) != 0 && errno != EEXIST) {
        detail::throwPathError("mkdir", target, errno);
      }
    } else {
      // A file is a fine target for anything that is not a directory:
      // binding a device or socket onto it shows the source's type.
      const detail::UniqueFd placeholder(
          ::open(target.c_str(), O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, kBindFileMode));
      if (!placeholder.valid()) {
        detail::throwPathError("open", target, errno);
      }
    }

    try {
      mounter_.mount("/proc/self/fd/" + std::to_string(fd.get()), target, "", {"bind"});
    } catch (const VolumeError&) {
      cleanUpOne(request);
      throw;
    }
  } catch (const VolumeError& e) {
    rethrowForUser(e, "failed to prepare subPath for " + volumeMountText(request));
  }
  return target;
}

void SubPathMounter::cleanUpMountPoint(const std::string& path) {
  if (!detail::lstatIfExists(path)) {
    return;
  }
  if (mounter_.isMountPoint(path)) {
    mounter_.unmount(path);
    if (mounter_.isMountPoint(path)) {
      throw VolumeError(Reason::kInternal, "failed to unmount path " + path);
    }
  }
  if (std::remove(path.c_str()) != 0 && errno != ENOENT) {
    detail::throwPathError("remove", path, errno);
  }
}

void SubPathMounter::cleanUpOne(const SubPathMount& request) {
  const std::string target = bindTarget(request);
  cleanUpMountPoint(target);
  removeEmptyDirs(detail::cleanPath(request.podDir), target.substr(0, target.rfind('/')));
}

void SubPathMounter::cleanUp(const std::string& podDir, const std::string& volumeName) {
  validateName("volume name", volumeName);
  const std::string subPathsDir = detail::joinPath(podDir, std::string(kSubPathsDir));
  const std::string volumeDir = detail::joinPath(subPathsDir, volumeName);
  std::error_code ec;
  for (const auto& container : std::filesystem::directory_iterator(volumeDir, ec)) {
    if (!container.is_directory(ec) || container.is_symlink(ec)) {
      continue;
    }
    std::error_code inner;
    // Only the first level: the entries are the bind targets, whose contents
    // belong to the volume.
    for (const auto& entry : std::filesystem::directory_iterator(container.path(), inner)) {
      cleanUpMountPoint(entry.path().string());
    }
    if (inner) {
      detail::throwPathError("open", container.path().string(), inner.value());
    }
    if (::rmdir(container.path().c_str()) != 0) {
      detail::throwPathError("remove", container.path().string(), errno);
    }
  }
  if (ec) {
    if (ec == std::errc::no_such_file_or_directory) {
      return;  // this volume had no subPaths
    }
    detail::throwPathError("open", volumeDir, ec.value());
  }
  if (::rmdir(volumeDir.c_str()) != 0 && errno != ENOENT) {
    detail::throwPathError("remove", volumeDir, errno);
  }
  // Other volumes may still have subPaths here.
  if (::rmdir(subPathsDir.c_str()) != 0 && errno != ENOTEMPTY && errno != EEXIST &&
      errno != ENOENT) {
    detail::throwPathError("remove", subPathsDir, errno);
  }
}

}  // namespace kite::volumes
