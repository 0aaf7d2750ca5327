#pragma once
// Rotates container logs by size, as upstream's container log manager does
// (--container-log-max-size, --container-log-max-files): every period, each
// running container kite created whose current log (<n>.log, CRI format) is
// over the size limit has it renamed to <n>.log.<YYYYMMDD-hhmmss>, and the
// runtime is asked to reopen its log (CRI ReopenContainerLog), so the
// container keeps writing to a fresh <n>.log. Rotated files beyond maxFiles - 1
// are deleted oldest first, so at most maxFiles files exist per container.
// Rotated files are not compressed.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <thread>

#include "kite/base/clock.h"
#include "kite/cri/runtime.h"

namespace kite::kubelet {

struct ContainerLogPolicy {
  uint64_t maxSizeBytes = 10ULL * 1024 * 1024;  // upstream's default 10Mi
  int maxFiles = 5;                             // current log included; at least 2
};

class ContainerLogManager {
 public:
  // Throws std::invalid_argument for maxFiles < 2 or maxSizeBytes == 0.
  ContainerLogManager(cri::Runtime& runtime, const base::Clock& clock, ContainerLogPolicy policy);
  ~ContainerLogManager();
  ContainerLogManager(const ContainerLogManager&) = delete;
  ContainerLogManager& operator=(const ContainerLogManager&) = delete;

  // Runs rotateAll() every period on a thread of its own until stop().
  void start(std::chrono::milliseconds period);
  void stop();

  // One pass over the running containers; returns how many logs it rotated.
  // A container that fails is logged and skipped; the others still rotate.
  int rotateAll();

 private:
  // Rotates one container's log if it is over the limit; true if it did.
  bool rotate(const std::string& containerId, const std::filesystem::path& log);
  void removeExcessRotated(const std::filesystem::path& log) const;

  cri::Runtime& runtime_;
  const base::Clock& clock_;
  ContainerLogPolicy policy_;
  std::jthread loop_;
};

// The rotated files of a log (<log>.<timestamp>), oldest first.
std::vector<std::filesystem::path> rotatedLogs(const std::filesystem::path& log);

}  // namespace kite::kubelet
