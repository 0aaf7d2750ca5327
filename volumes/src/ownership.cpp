#include "kite/volumes/ownership.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <system_error>

#include "fs_util.h"
#include "kite/volumes/error.h"

namespace kite::volumes {

namespace {

constexpr mode_t kReadWriteMask = 0660;
constexpr mode_t kReadOnlyMask = 0440;
constexpr mode_t kExecMask = 0110;

void changeOne(const std::string& path, gid_t fsGroup, bool readOnly) {
  if (::lchown(path.c_str(), static_cast<uid_t>(-1), fsGroup) != 0) {
    detail::throwPathError("lchown", path, errno);
  }
  const auto st = detail::lstatIfExists(path);
  if (!st || S_ISLNK(st->st_mode)) {
    return;
  }
  mode_t mask = readOnly ? kReadOnlyMask : kReadWriteMask;
  if (S_ISDIR(st->st_mode)) {
    mask |= S_ISGID | kExecMask;
  }
  // chmod after chown: chown clears setgid on files, the mask may restore it.
  if (::chmod(path.c_str(), (st->st_mode & 07777) | mask) != 0) {
    detail::throwPathError("chmod", path, errno);
  }
}

}  // namespace

void setVolumeOwnership(const std::string& dir, gid_t fsGroup, bool readOnly) {
  changeOne(dir, fsGroup, readOnly);
  std::error_code ec;
  // Directory symlinks are not followed (no follow_directory_symlink).
  const std::filesystem::recursive_directory_iterator end;
  for (std::filesystem::recursive_directory_iterator it(dir, ec); !ec && it != end;
       it.increment(ec)) {
    changeOne(it->path().string(), fsGroup, readOnly);
  }
  if (ec) {
    detail::throwPathError("readdirent", dir, ec.value());
  }
}

}  // namespace kite::volumes
