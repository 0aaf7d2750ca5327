#include "kite/kubelet/container_log_manager.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <condition_variable>
#include <ctime>
#include <mutex>
#include <stdexcept>

#include "kite/cri/error.h"
#include "kite/kubelet/labels.h"

namespace kite::kubelet {

namespace fs = std::filesystem;

namespace {

// Upstream's rotation suffix format (Go's "20060102-150405"), in UTC.
std::string timestamp(base::Clock::Wall when) {
  const std::time_t t = std::chrono::system_clock::to_time_t(when);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[32];
  const std::size_t n = std::strftime(buf, sizeof buf, "%Y%m%d-%H%M%S", &tm);
  return {buf, n};
}

bool isRotatedName(const std::string& name, const std::string& base) {
  // <base>.YYYYMMDD-hhmmss, possibly with a suffix we add on a same-second clash.
  if (!name.starts_with(base + ".") || name.size() < base.size() + 16) return false;
  const std::string stamp = name.substr(base.size() + 1, 15);
  for (std::size_t i = 0; i < stamp.size(); ++i) {
    const bool ok = i == 8 ? stamp[i] == '-' : (stamp[i] >= '0' && stamp[i] <= '9');
    if (!ok) return false;
  }
  return true;
}

}  // namespace

std::vector<fs::path> rotatedLogs(const fs::path& log) {
  std::vector<fs::path> out;
  std::error_code ec;
  const std::string base = log.filename().string();
  for (const auto& entry : fs::directory_iterator(log.parent_path(), ec)) {
    if (isRotatedName(entry.path().filename().string(), base)) out.push_back(entry.path());
  }
  std::sort(out.begin(), out.end());  // the timestamp sorts by age
  return out;
}

ContainerLogManager::ContainerLogManager(cri::Runtime& runtime, const base::Clock& clock,
                                         ContainerLogPolicy policy)
    : runtime_(runtime), clock_(clock), policy_(policy) {
  if (policy_.maxFiles < 2) {
    throw std::invalid_argument("container log max files must be at least 2, not " +
                                std::to_string(policy_.maxFiles));
  }
  if (policy_.maxSizeBytes == 0) {
    throw std::invalid_argument("container log max size must be positive");
  }
}

ContainerLogManager::~ContainerLogManager() { stop(); }

void ContainerLogManager::start(std::chrono::milliseconds period) {
  loop_ = std::jthread([this, period](const std::stop_token& stop) {
    std::mutex waitMutex;
    std::condition_variable_any wake;
    while (!stop.stop_requested()) {
      {
        std::unique_lock lock(waitMutex);
        wake.wait_for(lock, stop, period, [] { return false; });
      }
      if (stop.stop_requested()) break;
      rotateAll();
    }
  });
}

void ContainerLogManager::stop() {
  if (loop_.joinable()) {
    loop_.request_stop();
    loop_.join();
  }
}

int ContainerLogManager::rotateAll() {
  cri::v1::ContainerFilter filter;
  filter.mutable_state()->set_state(cri::v1::CONTAINER_RUNNING);
  (*filter.mutable_label_selector())[labels::kManagedBy] = labels::kManagedByValue;
  std::vector<cri::v1::Container> containers;
  try {
    containers = runtime_.listContainers(filter);
  } catch (const cri::Error& e) {
    spdlog::warn("log rotation: cannot list containers: {}", e.what());
    return 0;
  }
  int rotated = 0;
  for (const auto& container : containers) {
    try {
      const auto status = runtime_.containerStatus(container.id(), false).status();
      const fs::path log = status.log_path();
      // Only absolute paths: a runtime that reports a relative one leaves us
      // no way to find the file.
      if (log.empty() || !log.is_absolute()) continue;
      if (rotate(container.id(), log)) ++rotated;
    } catch (const std::exception& e) {
      spdlog::warn("log rotation of container {}: {}", container.id(), e.what());
    }
  }
  return rotated;
}

bool ContainerLogManager::rotate(const std::string& containerId, const fs::path& log) {
  std::error_code ec;
  const auto size = fs::file_size(log, ec);
  if (ec || size < policy_.maxSizeBytes) return false;

  // Make room first: after this rotation there are at most maxFiles - 1
  // rotated files next to the current log.
  removeExcessRotated(log);

  fs::path target = log;
  target += "." + timestamp(clock_.wallNow());
  if (fs::exists(target, ec)) return false;  // rotated this second already: next pass
  fs::rename(log, target, ec);
  if (ec) {
    throw std::runtime_error("cannot rename " + log.string() + ": " + ec.message());
  }
  try {
    runtime_.reopenContainerLog(containerId);
  } catch (const cri::Error& e) {
    // The container still writes to the renamed file: put it back, as
    // upstream does, so the current log keeps its name.
    std::error_code back;
    fs::rename(target, log, back);
    throw;
  }
  spdlog::info("rotated log of container {} ({} bytes) to {}", containerId, size,
               target.filename().string());
  return true;
}

void ContainerLogManager::removeExcessRotated(const fs::path& log) const {
  auto rotated = rotatedLogs(log);
  const auto keep = static_cast<std::size_t>(policy_.maxFiles - 2);
  while (rotated.size() > keep) {
    std::error_code ec;
    fs::remove(rotated.front(), ec);
    if (ec)
      spdlog::warn("cannot remove rotated log {}: {}", rotated.front().string(), ec.message());
    rotated.erase(rotated.begin());
  }
}

}  // namespace kite::kubelet
