#include "kite/volumes/disk_usage.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <set>
#include <utility>

#include "fs_util.h"
#include "kite/volumes/error.h"

namespace kite::volumes {

namespace {

// st_blocks counts 512-byte units whatever the filesystem's block size.
constexpr std::uint64_t kStatBlockSize = 512;

struct DirCloser {
  void operator()(DIR* dir) const { ::closedir(dir); }
};

class Walker {
 public:
  explicit Walker(dev_t device) : device_(device) {}

  void count(const struct stat& st) {
    // Hard links: count the inode once, as du does.
    if (st.st_nlink > 1 && !seen_.insert({st.st_dev, st.st_ino}).second) {
      return;
    }
    usage_.bytes += static_cast<std::uint64_t>(st.st_blocks) * kStatBlockSize;
    ++usage_.inodes;
  }

  void walkDir(int dirFd, const std::string& display) {
    // fdopendir owns what it is given; give it a duplicate.
    const int dupFd = ::fcntl(dirFd, F_DUPFD_CLOEXEC, 0);
    if (dupFd < 0) {
      detail::throwPathError("open", display, errno);
    }
    const std::unique_ptr<DIR, DirCloser> dir(::fdopendir(dupFd));
    if (!dir) {
      const int err = errno;
      ::close(dupFd);
      detail::throwPathError("open", display, err);
    }
    errno = 0;
    while (const dirent* entry = ::readdir(dir.get())) {
      const std::string name = entry->d_name;
      if (name == "." || name == "..") {
        continue;
      }
      visit(dirFd, name, detail::childPath(display, name));
      errno = 0;
    }
    if (errno != 0) {
      detail::throwPathError("readdirent", display, errno);
    }
  }

  const DiskUsage& usage() const { return usage_; }

 private:
  void visit(int parentFd, const std::string& name, const std::string& display) {
    struct stat st {};
    if (::fstatat(parentFd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      // Deleted since the directory was read: the container keeps writing.
      if (errno == ENOENT) {
        return;
      }
      detail::throwPathError("lstat", display, errno);
    }
    // Another filesystem mounted inside is not this volume's usage.
    if (st.st_dev != device_) {
      return;
    }
    count(st);
    if (!S_ISDIR(st.st_mode)) {
      return;
    }
    const detail::UniqueFd fd(
        ::openat(parentFd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd.valid()) {
      if (errno == ENOENT) {
        return;
      }
      detail::throwPathError("open", display, errno);
    }
    walkDir(fd.get(), display);
  }

  dev_t device_;
  DiskUsage usage_;
  std::set<std::pair<dev_t, ino_t>> seen_;
};

}  // namespace

DiskUsage diskUsage(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    detail::throwPathError("lstat", path, errno);
  }
  Walker walker(st.st_dev);
  walker.count(st);
  if (S_ISDIR(st.st_mode)) {
    const detail::UniqueFd fd(
        ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd.valid()) {
      detail::throwPathError("open", path, errno);
    }
    walker.walkDir(fd.get(), path);
  }
  return walker.usage();
}

}  // namespace kite::volumes
