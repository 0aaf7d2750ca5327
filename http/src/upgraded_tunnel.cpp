#include "upgraded_tunnel.h"

#include <utility>

namespace kite::http::detail {

UpgradedTunnel::UpgradedTunnel(std::weak_ptr<TunnelPort> port) : port_(std::move(port)) {}

void UpgradedTunnel::start(DataCallback onData, std::function<void()> onClose) {
  {
    const std::lock_guard lock(mutex_);
    if (started_) {
      return;
    }
    started_ = true;
    onData_ = std::move(onData);
    onClose_ = std::move(onClose);
  }
  // Pending bytes are delivered on the strand, so they cannot overtake or interleave with
  // bytes the connection receives meanwhile.
  auto port = port_.lock();
  if (!port || !port->tunnelRun([self = shared_from_this()] { self->deliverPending(); })) {
    deliverPending();
    peerClosed();
  }
}

void UpgradedTunnel::deliverPending() {
  DataCallback onData;
  std::string pending;
  bool ended = false;
  {
    const std::lock_guard lock(mutex_);
    onData = onData_;
    pending.swap(pending_);
    ended = peerEnded_;
  }
  if (!pending.empty() && onData) {
    onData(std::move(pending));
  }
  if (ended) {
    std::function<void()> onClose;
    {
      const std::lock_guard lock(mutex_);
      onClose.swap(onClose_);
      onData_ = nullptr;
    }
    if (onClose) {
      onClose();
    }
  }
}

bool UpgradedTunnel::write(std::string data) {
  {
    const std::lock_guard lock(mutex_);
    if (closed_ || peerEnded_) {
      return false;
    }
  }
  auto port = port_.lock();
  if (!port) {
    return false;
  }
  flow_.queued(data.size());
  port->tunnelWrite(std::move(data));
  return true;
}

void UpgradedTunnel::setReading(bool reading) {
  if (auto port = port_.lock()) {
    port->tunnelSetReading(reading);
  }
}

void UpgradedTunnel::close() {
  {
    const std::lock_guard lock(mutex_);
    if (closed_) {
      return;
    }
    closed_ = true;
  }
  if (auto port = port_.lock()) {
    port->tunnelClose();
  } else {
    peerClosed();
  }
}

void UpgradedTunnel::received(std::string data) {
  DataCallback onData;
  {
    const std::lock_guard lock(mutex_);
    if (!started_) {
      pending_.append(data);
      return;
    }
    onData = onData_;
  }
  if (onData) {
    onData(std::move(data));
  }
}

void UpgradedTunnel::peerClosed() {
  std::function<void()> onClose;
  DataCallback onData;
  std::string pending;
  {
    const std::lock_guard lock(mutex_);
    if (peerEnded_) {
      return;
    }
    peerEnded_ = true;
    if (!started_) {
      return;  // start() reports the end
    }
    onClose.swap(onClose_);
    onData.swap(onData_);  // dropped below with what it holds (often a pipe's other end)
    pending.swap(pending_);
  }
  flow_.drop();
  if (!pending.empty() && onData) {
    onData(std::move(pending));
  }
  if (onClose) {
    onClose();
  }
}

}  // namespace kite::http::detail
