#include "kite/kubelet/manifest_watcher.h"

#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <fstream>
#include <limits>
#include <optional>
#include <sstream>
#include <system_error>

namespace kite::kubelet {

namespace fs = std::filesystem;

std::vector<ManifestFile> readManifestDirectory(const fs::path& dir) {
  std::vector<ManifestFile> files;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.starts_with(".") || !entry.is_regular_file(ec)) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    std::ostringstream content;
    content << in.rdbuf();
    files.push_back({entry.path(), content.str()});
  }
  if (ec) spdlog::warn("static pods: cannot read {}: {}", dir.string(), ec.message());
  std::sort(files.begin(), files.end(),
            [](const auto& a, const auto& b) { return a.path < b.path; });
  return files;
}

ManifestWatcher::ManifestWatcher(fs::path dir, Callback callback, std::chrono::milliseconds rescan)
    : dir_(std::move(dir)), callback_(std::move(callback)), rescan_(rescan) {}

ManifestWatcher::~ManifestWatcher() { stop(); }

void ManifestWatcher::start() {
  wake_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_ < 0) {
    throw std::system_error(errno, std::generic_category(), "static pods: eventfd");
  }
  inotify_ = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (inotify_ < 0 ||
      ::inotify_add_watch(inotify_, dir_.c_str(),
                          IN_CLOSE_WRITE | IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO |
                              IN_MODIFY | IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF) < 0) {
    spdlog::warn("static pods: inotify on {} unavailable ({}); rescanning every {} ms",
                 dir_.string(), std::error_code(errno, std::generic_category()).message(),
                 rescan_.count());
  }
  callback_(readManifestDirectory(dir_));
  thread_ = std::jthread([this](const std::stop_token& stop) { run(stop); });
}

void ManifestWatcher::stop() {
  if (thread_.joinable()) {
    thread_.request_stop();
    const uint64_t one = 1;
    if (::write(wake_, &one, sizeof one) < 0) {
      spdlog::warn("static pods: cannot wake the watcher: {}",
                   std::error_code(errno, std::generic_category()).message());
    }
    thread_.join();
  }
  if (inotify_ >= 0) ::close(inotify_);
  inotify_ = -1;
  if (wake_ >= 0) ::close(wake_);
  wake_ = -1;
}

void ManifestWatcher::run(const std::stop_token& stop) {
  using Clock = std::chrono::steady_clock;
  constexpr auto kDebounce = std::chrono::milliseconds(100);
  auto lastScan = Clock::now();
  std::optional<Clock::time_point> dirtySince;
  std::array<char, 4096> buffer{};
  while (!stop.stop_requested()) {
    // Asleep until the debounce or the rescan is due, a change, or stop(): an idle kubelet
    // does not wake up for nothing.
    const auto due = dirtySince ? *dirtySince + kDebounce : lastScan + rescan_;
    const auto wait = std::chrono::ceil<std::chrono::milliseconds>(due - Clock::now());
    std::array<pollfd, 2> fds{pollfd{wake_, POLLIN, 0}, pollfd{inotify_, POLLIN, 0}};
    const nfds_t watched = inotify_ >= 0 ? 2 : 1;
    const auto timeout = std::clamp<int64_t>(wait.count(), 0, std::numeric_limits<int>::max());
    if (::poll(fds.data(), watched, static_cast<int>(timeout)) > 0 &&
        (fds[1].revents & POLLIN) != 0) {
      while (::read(inotify_, buffer.data(), buffer.size()) > 0) {
      }
      if (!dirtySince) dirtySince = Clock::now();
    }
    if (stop.stop_requested()) break;
    const auto now = Clock::now();
    const bool debounced = dirtySince && now - *dirtySince >= kDebounce;
    if (debounced || now - lastScan >= rescan_) {
      dirtySince.reset();
      lastScan = now;
      callback_(readManifestDirectory(dir_));
    }
  }
}

}  // namespace kite::kubelet
