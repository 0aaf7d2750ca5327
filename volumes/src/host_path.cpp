#include "kite/volumes/host_path.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <array>
#include <cerrno>
#include <utility>

#include "fs_util.h"
#include "kite/volumes/error.h"

namespace kite::volumes {

namespace {

constexpr std::array<std::pair<std::string_view, HostPathType>, 8> kTypes{{
    {"", HostPathType::kUnset},
    {"DirectoryOrCreate", HostPathType::kDirectoryOrCreate},
    {"Directory", HostPathType::kDirectory},
    {"FileOrCreate", HostPathType::kFileOrCreate},
    {"File", HostPathType::kFile},
    {"Socket", HostPathType::kSocket},
    {"CharDevice", HostPathType::kCharDevice},
    {"BlockDevice", HostPathType::kBlockDevice},
}};

constexpr mode_t kCreatedDirMode = 0755;
constexpr mode_t kCreatedFileMode = 0644;

// Upstream treats any stat failure as "does not exist".
bool exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

void typeMatchedOrError(const std::string& path, std::string_view expected,
                        const std::string& description) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    throw VolumeError(Reason::kNotFound, "hostPath " + path + " doesn't exist", "", errno);
  }
  const auto actual = detail::fileTypeName(st.st_mode);
  if (!actual) {
    throw VolumeError(Reason::kTypeMismatch,
                      "hostPath type check failed, " + path + " is not a " + description +
                          ", unable to determine its type: only recognise file, directory, "
                          "socket, block device and character device");
  }
  if (*actual != expected) {
    throw VolumeError(Reason::kTypeMismatch, "hostPath type check failed: " + path + " is not a " +
                                                 description + ", it's a " + std::string(*actual));
  }
}

// Returns false when something appeared at path meanwhile (or a dangling
// symlink is there); the caller then checks the type of what is there.
bool makeDir(const std::string& path) {
  try {
    if (!detail::makeDirs(path, kCreatedDirMode)) {
      return false;
    }
  } catch (const VolumeError& e) {
    if (e.sysErrno() == EEXIST) {
      return false;
    }
    throw;
  }
  // mkdir(2) applied the umask; the documented mode is exactly 0755.
  if (::chmod(path.c_str(), kCreatedDirMode) != 0) {
    detail::throwPathError("chmod", path, errno);
  }
  return true;
}

bool makeFile(const std::string& path) {
  // O_EXCL|O_NOFOLLOW: never create a file at the far end of a dangling
  // symlink, which could be anywhere on the host. Parents are not created.
  const detail::UniqueFd fd(
      ::open(path.c_str(), O_RDONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, kCreatedFileMode));
  if (!fd.valid()) {
    if (errno == EEXIST) {
      return false;
    }
    detail::throwPathError("open", path, errno);
  }
  if (::fchmod(fd.get(), kCreatedFileMode) != 0) {
    detail::throwPathError("chmod", path, errno);
  }
  return true;
}

}  // namespace

HostPathType parseHostPathType(std::string_view type) {
  for (const auto& [name, value] : kTypes) {
    if (name == type) {
      return value;
    }
  }
  throw VolumeError(Reason::kInvalid, std::string(type) + " is an invalid volume type");
}

namespace {
// Upstream validates the path before it looks at the type.
void validateNoBacksteps(const std::string& path) {
  if (detail::hasBackstep(path)) {
    throw VolumeError(Reason::kInvalid, "invalid HostPath `" + path + "`: must not contain '..'");
  }
}
}  // namespace

std::string checkHostPath(const std::string& path, HostPathType type) {
  validateNoBacksteps(path);
  switch (type) {
    case HostPathType::kUnset:
      break;
    case HostPathType::kDirectoryOrCreate:
      if (!exists(path) && makeDir(path)) {
        break;
      }
      typeMatchedOrError(path, "Directory", "directory");
      break;
    case HostPathType::kDirectory:
      typeMatchedOrError(path, "Directory", "directory");
      break;
    case HostPathType::kFileOrCreate:
      if (!exists(path) && makeFile(path)) {
        break;
      }
      typeMatchedOrError(path, "File", "file");
      break;
    case HostPathType::kFile:
      typeMatchedOrError(path, "File", "file");
      break;
    case HostPathType::kSocket:
      typeMatchedOrError(path, "Socket", "socket file");
      break;
    case HostPathType::kCharDevice:
      typeMatchedOrError(path, "CharDevice", "character device");
      break;
    case HostPathType::kBlockDevice:
      typeMatchedOrError(path, "BlockDevice", "block device");
      break;
  }
  return path;
}

std::string checkHostPath(const std::string& path, std::string_view type) {
  validateNoBacksteps(path);
  return checkHostPath(path, parseHostPathType(type));
}

}  // namespace kite::volumes
