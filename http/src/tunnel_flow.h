#pragma once
// Flow control of tunnels (server.h) and of the relays between them, in two halves:
// - TunnelFlow, in each tunnel: its written-but-not-yet-sent byte count and its drained
//   callback: write() adds from any thread, the io thread subtracts what the socket took and
//   runs the callback when the count falls to the low-water mark from above.
// - RelayValve, in each relay (pipeTunnels, pipeWebSocketToRaw, pipeRemoteCommand), one per
//   direction: stops reading the side that is ahead while the other side's count is above the
//   high-water mark, and reads it again from that side's drained callback.

#include <atomic>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <utility>

#include "kite/http/relay_bounds.h"
#include "kite/http/server.h"

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

// One direction of a relay: what is read from `source` is written to `sink`. update() runs
// after each write toward the sink and from the sink's drained callback (registered with
// bounds.lowWater): above bounds.highWater waiting bytes (the sink's queue plus `held`, what
// the relay keeps for the sink outside it) the source stops being read, so TCP holds its
// sender back; at bounds.lowWater or below it is read again. A read already under way is still
// delivered and written, so nothing is lost or reordered.
//
// The lock makes each decision and its setReading() one step: a pause decided on a count read
// just before the sink drained is then always followed by the drained callback's update(),
// which lifts it. `held` must be current (read under the lock that guards what changes it).
class RelayValve {
 public:
  RelayValve(std::shared_ptr<Tunnel> source, std::shared_ptr<Tunnel> sink, RelayBounds bounds)
      : source_(std::move(source)), sink_(std::move(sink)), bounds_(bounds) {}

  void update(std::size_t held = 0) {
    const std::lock_guard lock(mutex_);
    const std::size_t waiting = sink_->queuedBytes() + held;
    if (!paused_ && waiting > bounds_.highWater) {
      paused_ = true;
      source_->setReading(false);
    } else if (paused_ && waiting <= bounds_.lowWater) {
      paused_ = false;
      source_->setReading(true);
    }
  }

 private:
  const std::shared_ptr<Tunnel> source_;
  const std::shared_ptr<Tunnel> sink_;
  const RelayBounds bounds_;
  std::mutex mutex_;
  bool paused_ = false;
};

}  // namespace kite::http::detail
