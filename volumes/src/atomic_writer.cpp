#include "kite/volumes/atomic_writer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <climits>
#include <ctime>
#include <filesystem>
#include <set>
#include <system_error>
#include <utility>

#include "fs_util.h"
#include "kite/volumes/error.h"
#include "kite/volumes/ownership.h"

namespace kite::volumes {

namespace {

constexpr std::string_view kDataDirName = "..data";
constexpr std::string_view kNewDataDirName = "..data_tmp";
constexpr std::size_t kMaxFileNameLength = 255;
constexpr std::size_t kMaxPathLength = 4096;
// Group and other must be able to traverse: containers run as any user.
constexpr mode_t kDirMode = 0755;
// What setVolumeOwnership adds for a read-only volume.
constexpr mode_t kFsGroupReadMask = 0440;

[[noreturn]] void invalid(const std::string& message) {
  throw VolumeError(Reason::kInvalid, message);
}

Payload validatePayload(const Payload& payload) {
  Payload clean;
  for (const auto& [path, projection] : payload) {
    clean[AtomicWriter::validatePath(path)] = projection;
  }
  // "a" and "a/b" cannot both be files.
  for (const auto& [path, projection] : clean) {
    for (std::size_t slash = path.find('/'); slash != std::string::npos;
         slash = path.find('/', slash + 1)) {
      if (clean.count(path.substr(0, slash)) != 0) {
        invalid("invalid payload: " + path.substr(0, slash) + " is both a file and a directory");
      }
    }
  }
  return clean;
}

std::string readLink(const std::string& path) {
  std::array<char, PATH_MAX> buffer{};
  const ssize_t n = ::readlink(path.c_str(), buffer.data(), buffer.size());
  if (n < 0) {
    if (errno == ENOENT) {
      return "";
    }
    detail::throwPathError("readlink", path, errno);
  }
  return {buffer.data(), static_cast<std::size_t>(n)};
}

mode_t expectedMode(const FileProjection& projection, std::optional<gid_t> fsGroup) {
  const auto mode = static_cast<mode_t>(projection.mode & 07777);
  return fsGroup ? (mode | kFsGroupReadMask) : mode;
}

bool shouldWriteFile(const std::string& path, const FileProjection& projection,
                     std::optional<gid_t> fsGroup) {
  const auto st = detail::lstatIfExists(path);
  if (!st || !S_ISREG(st->st_mode)) {
    return true;
  }
  // Upstream compares content only; a changed defaultMode or owner would
  // then never reach the files. Compare those too.
  if ((st->st_mode & 07777) != expectedMode(projection, fsGroup) ||
      (projection.fsUser && st->st_uid != *projection.fsUser) ||
      (fsGroup && st->st_gid != *fsGroup)) {
    return true;
  }
  return detail::readFile(path) != projection.data;
}

bool shouldWritePayload(const Payload& payload, const std::string& oldTsPath,
                        std::optional<gid_t> fsGroup) {
  for (const auto& [path, projection] : payload) {
    if (shouldWriteFile(detail::childPath(oldTsPath, path), projection, fsGroup)) {
      return true;
    }
  }
  return false;
}

// Paths of the old version that the new payload no longer has, parents of
// new files excluded.
std::set<std::string> pathsToRemove(const Payload& payload, const std::string& oldTsPath) {
  std::set<std::string> old;
  std::error_code ec;
  const std::filesystem::recursive_directory_iterator end;
  for (std::filesystem::recursive_directory_iterator it(oldTsPath, ec); !ec && it != end;
       it.increment(ec)) {
    old.insert(std::filesystem::relative(it->path(), oldTsPath).string());
  }
  if (ec && ec != std::errc::no_such_file_or_directory) {
    detail::throwPathError("open", oldTsPath, ec.value());
  }
  for (const auto& [path, projection] : payload) {
    for (std::string prefix = path; !prefix.empty();) {
      old.erase(prefix);
      const std::size_t slash = prefix.rfind('/');
      prefix = slash == std::string::npos ? "" : prefix.substr(0, slash);
    }
  }
  return old;
}

std::string newTimestampDir(const std::string& targetDir) {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  ::gmtime_r(&now, &utc);
  std::array<char, 32> stamp{};
  std::strftime(stamp.data(), stamp.size(), "..%Y_%m_%d_%H_%M_%S.", &utc);
  std::string path = targetDir + "/" + stamp.data() + "XXXXXX";
  if (::mkdtemp(path.data()) == nullptr) {
    detail::throwPathError("mkdir", path, errno);
  }
  // mkdtemp makes it 0700; readers of any user must get in.
  if (::chmod(path.c_str(), kDirMode) != 0) {
    detail::throwPathError("chmod", path, errno);
  }
  return path;
}

void makeDirsBelow(const std::string& root, const std::string& relativeDir) {
  std::string current = root;
  for (const auto& element : detail::splitPath(relativeDir)) {
    current += "/" + element;
    if (::mkdir(current.c_str(), kDirMode) == 0) {
      if (::chmod(current.c_str(), kDirMode) != 0) {
        detail::throwPathError("chmod", current, errno);
      }
    } else if (errno != EEXIST) {
      detail::throwPathError("mkdir", current, errno);
    }
  }
}

void writeFile(const std::string& path, const FileProjection& projection) {
  const detail::UniqueFd fd(
      ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd.valid()) {
    detail::throwPathError("open", path, errno);
  }
  std::size_t written = 0;
  while (written < projection.data.size()) {
    const ssize_t n =
        ::write(fd.get(), projection.data.data() + written, projection.data.size() - written);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      detail::throwPathError("write", path, errno);
    }
    written += static_cast<std::size_t>(n);
  }
  // An explicit chmod: the mode must not depend on the kubelet's umask.
  if (::fchmod(fd.get(), static_cast<mode_t>(projection.mode & 07777)) != 0) {
    detail::throwPathError("chmod", path, errno);
  }
  if (projection.fsUser && ::fchown(fd.get(), *projection.fsUser, static_cast<gid_t>(-1)) != 0) {
    detail::throwPathError("chown", path, errno);
  }
}

void writePayloadToDir(const Payload& payload, const std::string& dir) {
  for (const auto& [path, projection] : payload) {
    const std::size_t slash = path.rfind('/');
    if (slash != std::string::npos) {
      makeDirsBelow(dir, path.substr(0, slash));
    }
    writeFile(detail::childPath(dir, path), projection);
  }
}

// bar -> ..data/bar, foo -> ..data/foo for "bar", "foo/baz", "foo/qux".
void createUserVisibleFiles(const Payload& payload, const std::string& targetDir) {
  for (const auto& [path, projection] : payload) {
    const std::string name = path.substr(0, path.find('/'));
    const std::string visible = detail::childPath(targetDir, name);
    if (detail::lstatIfExists(visible)) {
      continue;
    }
    const std::string link = std::string(kDataDirName) + "/" + name;
    if (::symlink(link.c_str(), visible.c_str()) != 0 && errno != EEXIST) {
      detail::throwPathError("symlink", visible, errno);
    }
  }
}

void removeUserVisiblePaths(const std::set<std::string>& paths, const std::string& targetDir) {
  for (const auto& path : paths) {
    // Only the top-level symlinks are visible names; deeper paths went away
    // with the old data directory.
    if (path.find('/') != std::string::npos) {
      continue;
    }
    const std::string visible = detail::childPath(targetDir, path);
    const auto st = detail::lstatIfExists(visible);
    if (st && S_ISLNK(st->st_mode) && ::unlink(visible.c_str()) != 0 && errno != ENOENT) {
      detail::throwPathError("remove", visible, errno);
    }
  }
}

// Removes a new data directory unless the write got far enough to publish it.
class UnpublishedDir {
 public:
  explicit UnpublishedDir(std::string path) : path_(std::move(path)) {}
  UnpublishedDir(const UnpublishedDir&) = delete;
  UnpublishedDir& operator=(const UnpublishedDir&) = delete;
  UnpublishedDir(UnpublishedDir&&) = delete;
  UnpublishedDir& operator=(UnpublishedDir&&) = delete;
  ~UnpublishedDir() {
    if (!published_) {
      try {
        detail::removeAll(path_);
      } catch (const VolumeError&) {
        // Best effort: a leftover ..<timestamp> directory is harmless and
        // the original error is what the caller needs to see.
      }
    }
  }
  void publish() { published_ = true; }

 private:
  std::string path_;
  bool published_ = false;
};

}  // namespace

AtomicWriter::AtomicWriter(const std::string& targetDir)
    : targetDir_(detail::cleanPath(targetDir)) {
  if (!detail::statIfExists(targetDir_)) {
    throw VolumeError(Reason::kNotFound, detail::pathErrorText("stat", targetDir_, ENOENT), "",
                      ENOENT);
  }
}

std::string AtomicWriter::validatePath(const std::string& path) {
  if (path.empty()) {
    invalid("invalid path: must not be empty: \"\"");
  }
  if (path.front() == '/') {
    invalid("invalid path: must be relative path: " + path);
  }
  if (path.size() > kMaxPathLength) {
    invalid("invalid path: must be less than or equal to " + std::to_string(kMaxPathLength) +
            " characters");
  }
  const auto items = detail::splitPath(path);
  for (const auto& item : items) {
    if (item == "..") {
      invalid("invalid path: must not contain '..': " + path);
    }
    if (item.size() > kMaxFileNameLength) {
      invalid("invalid path: filenames must be less than or equal to " +
              std::to_string(kMaxFileNameLength) + " characters");
    }
  }
  if (items.front().size() > 2 && items.front().compare(0, 2, "..") == 0) {
    invalid("invalid path: must not start with '..': " + path);
  }
  std::string clean = detail::cleanPath(path);
  // "." or "./" would name the volume directory itself.
  if (clean == ".") {
    invalid("invalid path: must name a file: " + path);
  }
  // "./..data" passes the checks above (upstream's too) but cleans to a
  // reserved name, which a later update would then unlink.
  if (clean.compare(0, 2, "..") == 0) {
    invalid("invalid path: must not start with '..': " + path);
  }
  return clean;
}

bool AtomicWriter::write(const Payload& payload, std::optional<gid_t> fsGroup) {
  const Payload clean = validatePayload(payload);

  const std::string dataDirPath = targetDir_ + "/" + std::string(kDataDirName);
  const std::string oldTsDir = readLink(dataDirPath);
  const std::string oldTsPath = targetDir_ + "/" + oldTsDir;

  std::set<std::string> toRemove;
  if (!oldTsDir.empty()) {
    toRemove = pathsToRemove(clean, oldTsPath);
    if (toRemove.empty() && !shouldWritePayload(clean, oldTsPath, fsGroup)) {
      return false;
    }
  }

  const std::string tsDir = newTimestampDir(targetDir_);
  UnpublishedDir guard(tsDir);
  writePayloadToDir(clean, tsDir);
  if (fsGroup) {
    setVolumeOwnership(tsDir, *fsGroup, /*readOnly=*/true);
  }
  createUserVisibleFiles(clean, targetDir_);

  const std::string newDataDirPath = targetDir_ + "/" + std::string(kNewDataDirName);
  // A ..data_tmp left by a crash would block every later write.
  if (::unlink(newDataDirPath.c_str()) != 0 && errno != ENOENT) {
    detail::throwPathError("remove", newDataDirPath, errno);
  }
  const std::string tsDirName = tsDir.substr(tsDir.rfind('/') + 1);
  if (::symlink(tsDirName.c_str(), newDataDirPath.c_str()) != 0) {
    detail::throwPathError("symlink", newDataDirPath, errno);
  }
  if (::rename(newDataDirPath.c_str(), dataDirPath.c_str()) != 0) {
    const int err = errno;
    ::unlink(newDataDirPath.c_str());
    detail::throwPathError("rename", newDataDirPath, err);
  }
  guard.publish();

  removeUserVisiblePaths(toRemove, targetDir_);
  // Only ever remove what looks like one of our own data directories.
  if (!oldTsDir.empty() && oldTsDir.find('/') == std::string::npos &&
      oldTsDir.compare(0, 2, "..") == 0 && oldTsDir != kDataDirName && oldTsDir != tsDirName) {
    detail::removeAll(oldTsPath);
  }
  return true;
}

}  // namespace kite::volumes
