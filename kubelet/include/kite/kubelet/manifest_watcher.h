#pragma once
// Watches the static pod directory (--pod-manifest-path). Any change — a file
// written, renamed in, or removed — triggers a callback with the directory's
// whole current content, within about 100 ms (inotify, debounced so an editor's
// write-rename dance is one update). A slow rescan catches anything inotify
// cannot see (e.g. the directory itself replaced).

#include <chrono>
#include <filesystem>
#include <functional>
#include <string>
#include <thread>
#include <vector>

namespace kite::kubelet {

struct ManifestFile {
  std::filesystem::path path;
  std::string content;
};

// Regular files in `dir`, sorted by name; dotfiles are skipped as upstream does
// (editors' swap files). Unreadable files come back with an empty content and
// are reported by the caller when they fail to decode.
std::vector<ManifestFile> readManifestDirectory(const std::filesystem::path& dir);

class ManifestWatcher {
 public:
  using Callback = std::function<void(const std::vector<ManifestFile>&)>;

  ManifestWatcher(std::filesystem::path dir, Callback callback,
                  std::chrono::milliseconds rescan = std::chrono::seconds(20));
  ~ManifestWatcher();
  ManifestWatcher(const ManifestWatcher&) = delete;
  ManifestWatcher& operator=(const ManifestWatcher&) = delete;

  // Reads the directory once and delivers it, then watches in the background.
  void start();
  void stop();

 private:
  void run(const std::stop_token& stop);

  std::filesystem::path dir_;
  Callback callback_;
  std::chrono::milliseconds rescan_;
  int inotify_ = -1;
  int wake_ = -1;  // eventfd: stop() wakes the watcher, which otherwise sleeps until due
  std::jthread thread_;
};

}  // namespace kite::kubelet
