#include "fs_util.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <memory>
#include <system_error>

#include "kite/volumes/error.h"
#include "kite/volumes/mounter.h"

namespace kite::volumes::detail {

std::string errnoText(int err) {
  // glibc's strerror text with Go's lower-case first letter.
  std::string text = std::generic_category().message(err);
  if (!text.empty()) {
    text[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(text[0])));
  }
  return text;
}

std::string pathErrorText(const std::string& op, const std::string& path, int err) {
  return op + " " + path + ": " + errnoText(err);
}

void throwPathError(const std::string& op, const std::string& path, int err) {
  throw VolumeError(err == ENOENT ? Reason::kNotFound : Reason::kInternal,
                    pathErrorText(op, path, err), "", err);
}

namespace {
std::optional<struct stat> statWith(const std::string& path, bool follow) {
  struct stat st {};
  const int rc = follow ? ::stat(path.c_str(), &st) : ::lstat(path.c_str(), &st);
  if (rc == 0) {
    return st;
  }
  const int err = errno;
  if (err == ENOENT || err == ENOTDIR) {
    return std::nullopt;
  }
  throwPathError(follow ? "stat" : "lstat", path, err);
}
}  // namespace

std::optional<struct stat> statIfExists(const std::string& path) { return statWith(path, true); }
std::optional<struct stat> lstatIfExists(const std::string& path) { return statWith(path, false); }

std::string cleanPath(std::string_view path) {
  if (path.empty()) {
    return ".";
  }
  const bool rooted = path.front() == '/';
  std::vector<std::string> out;
  for (const auto& element : splitPath(path)) {
    if (element.empty() || element == ".") {
      continue;
    }
    if (element == "..") {
      if (!out.empty() && out.back() != "..") {
        out.pop_back();
      } else if (!rooted) {
        out.emplace_back("..");
      }
      // ".." at the root stays at the root.
      continue;
    }
    out.push_back(element);
  }
  std::string result = rooted ? "/" : "";
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (i > 0) {
      result += '/';
    }
    result += out[i];
  }
  if (result.empty()) {
    return ".";
  }
  return result;
}

std::string joinPath(std::string_view a, std::string_view b) {
  std::string joined(a);
  joined += '/';
  joined += b;
  return cleanPath(joined);
}

std::string childPath(const std::string& dir, const std::string& name) {
  std::string path;
  path.reserve(dir.size() + 1 + name.size());
  path += dir;
  path += '/';
  path += name;
  return path;
}

std::vector<std::string> splitPath(std::string_view path) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (true) {
    const std::size_t slash = path.find('/', start);
    if (slash == std::string_view::npos) {
      parts.emplace_back(path.substr(start));
      return parts;
    }
    parts.emplace_back(path.substr(start, slash - start));
    start = slash + 1;
  }
}

bool hasBackstep(std::string_view path) {
  for (const auto& element : splitPath(path)) {
    if (element == "..") {
      return true;
    }
  }
  return false;
}

bool pathWithinBase(const std::string& fullPath, const std::string& base) {
  if (base == "/") {
    return !fullPath.empty() && fullPath.front() == '/';
  }
  return fullPath == base ||
         (fullPath.size() > base.size() && fullPath.compare(0, base.size(), base) == 0 &&
          fullPath[base.size()] == '/');
}

std::string relativeTo(const std::string& base, const std::string& target) {
  if (target == base) {
    return ".";
  }
  if (base == "/") {
    return target.substr(1);
  }
  return target.substr(base.size() + 1);
}

std::string realPath(const std::string& path) {
  // realpath(3) with a NULL buffer mallocs the result; own it at once.
  const std::unique_ptr<char, decltype(&std::free)> resolved(::realpath(path.c_str(), nullptr),
                                                             &std::free);
  if (!resolved) {
    throwPathError("lstat", path, errno);
  }
  return {resolved.get()};
}

bool makeDirs(const std::string& path, mode_t mode) {
  const std::string clean = cleanPath(path);
  if (const auto st = statIfExists(clean)) {
    if (S_ISDIR(st->st_mode)) {
      return false;
    }
    throwPathError("mkdir", clean, ENOTDIR);
  }
  const std::size_t slash = clean.rfind('/');
  if (slash != std::string::npos && slash != 0) {
    makeDirs(clean.substr(0, slash), mode);
  }
  if (::mkdir(clean.c_str(), mode) != 0) {
    const int err = errno;
    // Lost a race with another creator: fine as long as it is a directory.
    if (const auto st = lstatIfExists(clean); st && S_ISDIR(st->st_mode)) {
      return false;
    }
    throwPathError("mkdir", clean, err);
  }
  return true;
}

namespace {

struct DirCloser {
  void operator()(DIR* dir) const { ::closedir(dir); }
};

std::vector<std::string> listDir(int dirFd, const std::string& display) {
  // fdopendir takes ownership of the descriptor it is given, so hand it a dup.
  const int dupFd = ::fcntl(dirFd, F_DUPFD_CLOEXEC, 0);
  if (dupFd < 0) {
    throwPathError("open", display, errno);
  }
  const std::unique_ptr<DIR, DirCloser> dir(::fdopendir(dupFd));
  if (!dir) {
    const int err = errno;
    ::close(dupFd);
    throwPathError("open", display, err);
  }
  std::vector<std::string> names;
  errno = 0;
  while (const dirent* entry = ::readdir(dir.get())) {
    const std::string name = entry->d_name;
    if (name != "." && name != "..") {
      names.push_back(name);
    }
  }
  if (errno != 0) {
    throwPathError("readdirent", display, errno);
  }
  return names;
}

void removeAt(int parentFd, const std::string& name, const std::string& display) {
  struct stat st {};
  if (::fstatat(parentFd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) {
      return;
    }
    throwPathError("unlinkat", display, errno);
  }
  if (S_ISDIR(st.st_mode)) {
    const UniqueFd dirFd(
        ::openat(parentFd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!dirFd.valid()) {
      throwPathError("open", display, errno);
    }
    for (const auto& child : listDir(dirFd.get(), display)) {
      removeAt(dirFd.get(), child, childPath(display, child));
    }
  }
  if (::unlinkat(parentFd, name.c_str(), S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0) != 0 &&
      errno != ENOENT) {
    throwPathError("unlinkat", display, errno);
  }
}

}  // namespace

void removeAll(const std::string& path) {
  const std::string clean = cleanPath(path);
  const std::size_t slash = clean.rfind('/');
  if (clean == "/" || clean == "." || slash == std::string::npos) {
    throw VolumeError(Reason::kInvalid, "refusing to remove " + clean + ": not an absolute path");
  }
  const std::string parent = slash == 0 ? "/" : clean.substr(0, slash);
  const std::string name = clean.substr(slash + 1);
  const UniqueFd parentFd(::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!parentFd.valid()) {
    if (errno == ENOENT) {
      return;
    }
    throwPathError("open", parent, errno);
  }
  // mountinfo lists canonical paths; the last component itself is not
  // resolved, since removing a symlink removes the link only.
  const std::string canonical = joinPath(realPath(parent), name);
  for (const auto& mount : readMountInfo()) {
    if (pathWithinBase(mount.mountPoint, canonical)) {
      throw VolumeError(Reason::kInternal,
                        "unable to remove " + clean + ": " + mount.mountPoint + " is mounted");
    }
  }
  removeAt(parentFd.get(), name, clean);
}

std::optional<std::string_view> fileTypeName(mode_t mode) {
  switch (mode & S_IFMT) {
    case S_IFDIR:
      return "Directory";
    case S_IFREG:
      return "File";
    case S_IFSOCK:
      return "Socket";
    case S_IFCHR:
      return "CharDevice";
    case S_IFBLK:
      return "BlockDevice";
    default:
      return std::nullopt;
  }
}

std::string readFile(const std::string& path) {
  const UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    throwPathError("open", path, errno);
  }
  std::string content;
  char buffer[65536];
  while (true) {
    const ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      throwPathError("read", path, errno);
    }
    if (n == 0) {
      return content;
    }
    content.append(buffer, static_cast<std::size_t>(n));
  }
}

}  // namespace kite::volumes::detail
