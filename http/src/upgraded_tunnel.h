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
#include "tunnel_flow.h"

namespace kite::http::detail {

class TunnelPort {
 public:
  virtual ~TunnelPort() = default;
  virtual void tunnelWrite(std::string data) = 0;
  virtual void tunnelClose() = 0;
  // Runs `task` on the connection's strand; false when the connection is gone.
  virtual bool tunnelRun(std::function<void()> task) = 0;
  // Stops or resumes reading the connection's bytes (flow control).
  virtual void tunnelSetReading(bool reading) = 0;
};

class UpgradedTunnel final : public Tunnel, public std::enable_shared_from_this<UpgradedTunnel> {
 public:
  explicit UpgradedTunnel(std::weak_ptr<TunnelPort> port);

  void start(DataCallback onData, std::function<void()> onClose) override;
  bool write(std::string data) override;
  void close() override;
  std::size_t queuedBytes() const override { return flow_.bytes(); }
  void onDrained(std::size_t lowWater, std::function<void()> callback) override {
    flow_.onDrained(lowWater, std::move(callback));
  }
  void setReading(bool reading) override;

  // From the connection's strand.
  void received(std::string data);
  void peerClosed();
  void sent(std::size_t bytes) { flow_.sent(bytes); }  // bytes of write()s the socket took

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
  TunnelFlow flow_;
};

}  // namespace kite::http::detail
