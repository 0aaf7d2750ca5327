#include "safe_path.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>
#include <utility>
#include <vector>

#include "kite/volumes/error.h"

namespace kite::volumes::detail {

namespace {

[[noreturn]] void fail(Reason reason, const std::string& message, int err = 0) {
  throw VolumeError(reason, message, "", err);
}

[[noreturn]] void failOutside(const std::string& path, const std::string& base) {
  std::string message = "path ";
  message += path;
  message += " is outside of allowed base ";
  message += base;
  fail(Reason::kForbidden, message);
}

std::vector<std::string> segmentsBelow(const std::string& base, const std::string& path) {
  return splitPath(relativeTo(base, path));
}

// The longest existing prefix of pathname below base (symlinks followed, as
// upstream does) and the directories still to create after it.
std::pair<std::string, std::vector<std::string>> findExistingPrefix(const std::string& base,
                                                                    const std::string& pathname) {
  const auto dirs = segmentsBelow(base, pathname);
  std::string current = base;
  UniqueFd fd(::open(base.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    fail(Reason::kInternal, "error opening " + base + ": " + errnoText(errno), errno);
  }
  for (std::size_t i = 0; i < dirs.size(); ++i) {
    // O_PATH: a FIFO put there by a container must not make us hang.
    UniqueFd child(::openat(fd.get(), dirs[i].c_str(), O_PATH | O_CLOEXEC));
    if (!child.valid()) {
      if (errno == ENOENT) {
        return {current, std::vector<std::string>(dirs.begin() + static_cast<long>(i), dirs.end())};
      }
      fail(Reason::kInternal,
           "error opening " + joinPath(current, dirs[i]) + ": " + errnoText(errno), errno);
    }
    fd = std::move(child);
    current = joinPath(current, dirs[i]);
  }
  return {pathname, {}};
}

}  // namespace

UniqueFd safeOpen(const std::string& pathname, const std::string& base) {
  // The base is the one directory we trust; it must not be a symlink itself.
  UniqueFd parent(::open(base.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!parent.valid()) {
    fail(Reason::kInternal, "cannot open directory " + base + ": " + errnoText(errno), errno);
  }
  std::string current = base;
  for (const auto& segment : segmentsBelow(base, pathname)) {
    current = joinPath(current, segment);
    if (!pathWithinBase(current, base)) {
      failOutside(current, base);
    }
    UniqueFd child(::openat(parent.get(), segment.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
    if (!child.valid()) {
      fail(errno == ENOENT ? Reason::kNotFound : Reason::kInternal,
           "cannot open " + current + ": " + errnoText(errno), errno);
    }
    struct stat st {};
    if (::fstat(child.get(), &st) != 0) {
      fail(Reason::kInternal, "error running fstat on " + current + " with " + errnoText(errno),
           errno);
    }
    if (S_ISLNK(st.st_mode)) {
      fail(Reason::kForbidden, "unexpected symlink found " + current);
    }
    parent = std::move(child);
  }
  return parent;
}

void safeMakeDir(const std::string& subdir, const std::string& base, mode_t perm) {
  const std::string pathname = joinPath(base, subdir);
  if (!pathWithinBase(pathname, base)) {
    failOutside(pathname, base);
  }
  if (const auto st = statIfExists(pathname)) {
    if (S_ISDIR(st->st_mode)) {
      // Already there; it may resolve outside base, which resolving the
      // subPath afterwards refuses.
      return;
    }
    fail(Reason::kTypeMismatch, pathErrorText("mkdir", pathname, ENOTDIR), ENOTDIR);
  }

  const auto [existing, toCreate] = findExistingPrefix(base, pathname);
  const std::string fullExisting = realPath(existing);
  if (!pathWithinBase(fullExisting, base)) {
    failOutside(fullExisting, base);
  }
  UniqueFd parent = safeOpen(fullExisting, base);
  std::string current = fullExisting;
  for (const auto& dir : toCreate) {
    current = joinPath(current, dir);
    if (::mkdirat(parent.get(), dir.c_str(), perm) != 0) {
      fail(Reason::kInternal, "cannot create directory " + current + ": " + errnoText(errno),
           errno);
    }
    // O_NOFOLLOW: if a container turned the new directory into a symlink
    // meanwhile, stop here rather than follow it.
    UniqueFd child(::openat(parent.get(), dir.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!child.valid()) {
      fail(Reason::kInternal, "cannot open " + current + ": " + errnoText(errno), errno);
    }
    // mkdirat applied the umask; the subPath must carry the volume's mode.
    if (::fchmod(child.get(), perm) != 0) {
      fail(Reason::kInternal, "chmod \"" + current + "\" failed: " + errnoText(errno), errno);
    }
    parent = std::move(child);
  }
}

ResolvedSubPath makeSubPath(const std::string& volumePath, const std::string& subPath) {
  ResolvedSubPath joined;
  joined.volume = realPath(volumePath);
  joined.path = joinPath(joined.volume, subPath);
  if (!statIfExists(joined.path)) {
    // Created now, with the volume's mode: left to the runtime it would be
    // created root-owned 0755 and an fsGroup pod could not write into it.
    const auto volume = statIfExists(volumePath);
    if (!volume) {
      throwPathError("stat", volumePath, ENOENT);
    }
    safeMakeDir(subPath, joined.volume, volume->st_mode & 07777);
  }
  return joined;
}

ResolvedSubPath resolveWithinVolume(const ResolvedSubPath& joined) {
  ResolvedSubPath resolved{joined.volume, realPath(joined.path)};
  if (!pathWithinBase(resolved.path, resolved.volume)) {
    fail(Reason::kForbidden,
         "subpath \"" + resolved.path + "\" not within volume path \"" + resolved.volume + "\"");
  }
  return resolved;
}

}  // namespace kite::volumes::detail
