#include "kite/ebpf/bpffs.h"

#include <bpf/bpf.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

namespace kite::ebpf {

namespace {

constexpr long kBpfFsMagic = 0xcafe4a11;

bool isBpffs(const std::string& path) {
  struct statfs fs {};
  return statfs(path.c_str(), &fs) == 0 && fs.f_type == kBpfFsMagic;
}

// Holds an exclusive flock for its lifetime: two agents or tests starting at once must not
// both mount (the second mount would hide the first one's pins).
class FileLock {
 public:
  explicit FileLock(const char* path) : fd_(open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) {
    if (fd_ >= 0) flock(fd_, LOCK_EX);
  }
  ~FileLock() {
    if (fd_ >= 0) close(fd_);
  }
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

 private:
  int fd_;
};

}  // namespace

void ensureBpffs(const std::string& root) {
  if (isBpffs(root)) return;
  const FileLock lock("/run/kite-bpffs.lock");
  if (isBpffs(root)) return;
  std::error_code ec;
  std::filesystem::create_directories(root, ec);
  if (mount("bpffs", root.c_str(), "bpf", 0, "mode=0700") != 0) {
    throw std::runtime_error("no bpf filesystem at " + root +
                             " and mounting one failed: " + std::strerror(errno) +
                             " (the eBPF proxy pins its maps and programs there; needs "
                             "CAP_SYS_ADMIN)");
  }
}

std::string cgroup2Root() {
  std::ifstream mounts("/proc/self/mounts");
  for (std::string line; std::getline(mounts, line);) {
    std::istringstream fields(line);
    std::string device;
    std::string mountPoint;
    std::string type;
    fields >> device >> mountPoint >> type;
    if (type == "cgroup2") return mountPoint;
  }
  throw std::runtime_error(
      "no cgroup v2 hierarchy is mounted (the eBPF proxy's cgroup/connect4 programs attach to "
      "it; mount one with: mount -t cgroup2 none /sys/fs/cgroup/unified)");
}

bool removePinDir(const std::string& dir) {
  std::error_code ec;
  if (!std::filesystem::exists(dir, ec)) return false;
  // The links' ids, to wait below for the kernel to release them: the last reference to a
  // link goes in deferred work, so its program can still be attached when unlink returns.
  std::vector<uint32_t> links;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    if (entry.path().filename().string().rfind("link_", 0) != 0) continue;
    const int fd = bpf_obj_get(entry.path().c_str());
    if (fd < 0) continue;
    bpf_link_info info{};
    uint32_t length = sizeof(info);
    if (bpf_obj_get_info_by_fd(fd, &info, &length) == 0) links.push_back(info.id);
    close(fd);
  }
  std::filesystem::remove_all(dir, ec);
  if (ec)
    throw std::runtime_error("cannot remove the pinned BPF objects in " + dir + ": " +
                             ec.message());
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  for (const uint32_t id : links) {
    // Gone, or held by a descriptor someone else still has open (then not ours to wait for).
    while (std::chrono::steady_clock::now() < deadline) {
      const int fd = bpf_link_get_fd_by_id(id);
      if (fd < 0) break;
      close(fd);
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  return true;
}

}  // namespace kite::ebpf
