#pragma once
// The Tunnel a handler gets from Responder::upgrade: the HTTP/1.1 connection's byte stream
// after the 101 answer. The connection feeds it received bytes and its end from the
// connection's strand; the handler's writes and close go back to the connection through
// TunnelPort, which posts them onto that strand.

#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "kite/http/server.h"

namespace kite::http::detail {

class TunnelPort {
 public:
  virtual ~TunnelPort() = default;
  virtual void tunnelWrite(std::string data) = 0;
  virtual void tunnelClose() = 0;
  // Runs `task` on the connection's strand; false when the connection is gone.
  virtual bool tunnelRun(std::function<void()> task) = 0;
};

class UpgradedTunnel final : public Tunnel, public std::enable_shared_from_this<UpgradedTunnel> {
 public:
  explicit UpgradedTunnel(std::weak_ptr<TunnelPort> port);

  void start(DataCallback onData, std::function<void()> onClose) override;
  bool write(std::string data) override;
  void close() override;

  // From the connection's strand.
  void received(std::string data);
  void peerClosed();

 private:
  void deliverPending();  // on the strand, once started

  const std::weak_ptr<TunnelPort> port_;
  std::mutex mutex_;
  DataCallback onData_;
  std::function<void()> onClose_;
  std::string pending_;  // received before start()
  bool started_ = false;
  bool peerEnded_ = false;
  bool closed_ = false;
};

}  // namespace kite::http::detail
