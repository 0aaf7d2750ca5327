#pragma once
// An exclusive flock on <dir>/lock, held for the owner's lifetime: two agents on one state
// folder (e.g. `kite server` with its own agent beside the kite-agent service) would fight
// over the same node identity and pods, so the second one refuses to start.

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <string>

namespace kite::cmd {

class DirLock {
 public:
  // Creates `dir` (0700) if needed; throws std::runtime_error naming `what` when another
  // process holds the lock.
  DirLock(const std::filesystem::path& dir, const std::string& what) {
    std::filesystem::create_directories(dir);
    std::filesystem::permissions(dir, std::filesystem::perms::owner_all,
                                 std::filesystem::perm_options::replace);
    const auto path = dir / "lock";
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd_ < 0) {
      throw std::runtime_error("cannot open " + path.string() + ": " + std::strerror(errno));
    }
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      ::close(fd_);
      throw std::runtime_error(dir.string() + " is in use by another " + what);
    }
  }
  ~DirLock() { ::close(fd_); }
  DirLock(const DirLock&) = delete;
  DirLock& operator=(const DirLock&) = delete;

 private:
  int fd_ = -1;
};

}  // namespace kite::cmd
