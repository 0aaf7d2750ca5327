#pragma once
// Helpers for the volume tests: every test works in a private directory under
// /tmp that, when the test ends (pass, fail or exception), takes along every
// mount a test left below it, then its files.

#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "kite/volumes/error.h"

// Mounting and mknod need root; CI runs the tests as root.
#define KITE_REQUIRE_ROOT()                                       \
  do {                                                            \
    if (::geteuid() != 0) {                                       \
      GTEST_SKIP() << "needs root (mount(2), mknod(2)); skipped"; \
    }                                                             \
  } while (false)

namespace kite::volumes::testing {

// Mount points at or below dir, from /proc/self/mountinfo, read without the
// code under test. Test paths contain no characters the kernel escapes.
inline std::vector<std::string> mountsBelow(const std::string& dir) {
  std::vector<std::string> found;
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string id;
    std::string parent;
    std::string devices;
    std::string root;
    std::string mountPoint;
    fields >> id >> parent >> devices >> root >> mountPoint;
    if (mountPoint == dir || mountPoint.rfind(dir + "/", 0) == 0) {
      found.push_back(mountPoint);
    }
  }
  return found;
}

class TempDir {
 public:
  TempDir() {
    std::string pattern = "/tmp/kite-volumes-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) {
      throw std::runtime_error("mkdtemp failed");
    }
    // Canonical, so it compares equal to mount points in mountinfo.
    path_ = std::filesystem::canonical(pattern).string();
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  TempDir(TempDir&&) = delete;
  TempDir& operator=(TempDir&&) = delete;
  ~TempDir() {
    // Deepest first; several rounds for mounts stacked on one point.
    for (int round = 0; round < 16; ++round) {
      auto mounts = mountsBelow(path_);
      if (mounts.empty()) {
        break;
      }
      std::sort(mounts.begin(), mounts.end(),
                [](const auto& a, const auto& b) { return a.size() > b.size(); });
      for (const auto& mount : mounts) {
        ::umount2(mount.c_str(), MNT_DETACH);
      }
    }
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }

  const std::string& path() const { return path_; }
  std::string operator/(const std::string& relative) const { return path_ + "/" + relative; }

 private:
  std::string path_;
};

// Sets the process umask for one test and restores it.
class UmaskGuard {
 public:
  explicit UmaskGuard(mode_t mask) : old_(::umask(mask)) {}
  UmaskGuard(const UmaskGuard&) = delete;
  UmaskGuard& operator=(const UmaskGuard&) = delete;
  UmaskGuard(UmaskGuard&&) = delete;
  UmaskGuard& operator=(UmaskGuard&&) = delete;
  ~UmaskGuard() { ::umask(old_); }

 private:
  mode_t old_;
};

inline void writeFile(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
  if (!out) {
    throw std::runtime_error("cannot write " + path);
  }
}

inline std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw std::runtime_error("cannot read " + path);
  }
  std::ostringstream content;
  content << in.rdbuf();
  return content.str();
}

inline struct stat statOf(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    throw std::runtime_error("cannot stat " + path);
  }
  return st;
}

inline struct stat lstatOf(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    throw std::runtime_error("cannot lstat " + path);
  }
  return st;
}

inline bool exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

// The VolumeError f throws; a test failure if it throws none.
template <typename F>
VolumeError errorOf(F&& f) {
  try {
    f();
  } catch (const VolumeError& e) {
    return e;
  }
  ADD_FAILURE() << "expected a VolumeError";
  return VolumeError(Reason::kInternal, "<no error thrown>");
}

inline mode_t permissions(const std::string& path) { return statOf(path).st_mode & 07777; }

}  // namespace kite::volumes::testing
