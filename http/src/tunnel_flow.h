#pragma once
// A tunnel's written-but-not-yet-sent byte count and its drained callback (Tunnel's flow
// control, server.h): write() adds from any thread, the io thread subtracts what the socket
// took and runs the callback when the count falls to the low-water mark from above.

#include <atomic>
#include <cstddef>
#include <functional>
#include <mutex>
#include <utility>

namespace kite::http::detail {

class TunnelFlow {
 public:
  void queued(std::size_t bytes) { bytes_.fetch_add(bytes); }

  // On the io thread, outside any lock of the tunnel's (the callback may call back into it).
  void sent(std::size_t bytes) {
    const std::size_t before = bytes_.fetch_sub(bytes);
    std::function<void()> callback;
    {
      const std::lock_guard lock(mutex_);
      if (before > lowWater_ && before - bytes <= lowWater_) callback = callback_;
    }
    if (callback) callback();
  }

  std::size_t bytes() const { return bytes_.load(); }

  void onDrained(std::size_t lowWater, std::function<void()> callback) {
    const std::lock_guard lock(mutex_);
    lowWater_ = lowWater;
    callback_ = std::move(callback);
  }

  // The tunnel ended: the callback (which may hold the tunnel's relay) goes.
  void drop() {
    std::function<void()> callback;
    const std::lock_guard lock(mutex_);
    callback.swap(callback_);
  }

 private:
  std::atomic<std::size_t> bytes_{0};
  std::mutex mutex_;
  std::size_t lowWater_ = 0;
  std::function<void()> callback_;
};

}  // namespace kite::http::detail
