#pragma once
// Helpers for the pod → CRI config tests: a minimal pod to start from and a
// private directory for files the code under test reads (resolv.conf,
// seccomp profiles), removed when the test ends.

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

#include "kite/api/core/v1/types.h"

namespace kite::kubelet::testing {

// Pod "web" in "shop" with uid "uid-1" and one container "app" (image nginx:1.22.1).
inline api::core::v1::Pod basicPod() {
  api::core::v1::Pod pod;
  pod.metadata.name = "web";
  pod.metadata.namespace_ = "shop";
  pod.metadata.uid = "uid-1";
  api::core::v1::Container app;
  app.name = "app";
  app.image = "nginx:1.22.1";
  app.terminationMessagePath = "/dev/termination-log";
  app.terminationMessagePolicy = "File";
  pod.spec.containers.push_back(app);
  pod.spec.dnsPolicy = "ClusterFirst";
  return pod;
}

class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "kite-config-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }

  // Writes `content` to <dir>/<name> (parents created) and returns the path.
  std::filesystem::path write(const std::string& name, const std::string& content) const {
    auto file = path_ / name;
    std::filesystem::create_directories(file.parent_path());
    std::ofstream(file, std::ios::binary) << content;
    return file;
  }

 private:
  std::filesystem::path path_;
};

}  // namespace kite::kubelet::testing
