#pragma once
// One TLS connection speaking HTTP/1.1. Everything here runs on the connection's strand;
// responders and streams reach it through ExchangeSink, which posts onto that strand.
//
// Life of a connection: TLS handshake (bounded by handshakeTimeout) -> read a request
// (bounded by idleTimeout) -> hand it to a worker -> write the answer (a sized response or a
// chunked stream) -> next request (keep-alive) or close. One request is served at a time;
// bytes of pipelined requests wait in the read buffer.
//
// A single read is kept outstanding the whole time, also while a handler runs or a stream is
// open, so a client that goes away is noticed at once (the stream's onClose fires) rather
// than at the next write.
//
// Upgrades (exec, attach, port-forward: WebSocket and SPDY): a 101 answer stops HTTP parsing;
// from then on received bytes (first those left in buffer_) go to the UpgradedTunnel and its
// writes go out as they are, until either side closes. When ALPN agreed on "h2", onHandshake hands
// the TLS stream to an Http2Connection, which takes this connection's place in the server.

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "exchange_sink.h"
#include "kite/http/server.h"
#include "upgraded_tunnel.h"

namespace kite::http::detail {

class QueuedStream;
class ServerState;

class Connection final : public ExchangeSink,
                         public TunnelPort,
                         public std::enable_shared_from_this<Connection> {
 public:
  Connection(boost::asio::ip::tcp::socket socket, boost::asio::ssl::context& tls,
             std::shared_ptr<ServerState> server, std::uint64_t id);

  // Begins the TLS handshake (on the connection's strand).
  void start();

  // ExchangeSink: callable from any thread.
  void deliverResponse(std::uint64_t exchange, Response response) override;
  bool deliverStreamStart(std::uint64_t exchange, std::shared_ptr<QueuedStream> stream, int status,
                          Headers headers) override;
  void deliverStreamData(std::shared_ptr<QueuedStream> stream) override;
  void streamOverflowed(std::shared_ptr<QueuedStream> stream) override;
  void abortConnection() override;
  std::shared_ptr<Tunnel> deliverUpgrade(std::uint64_t exchange, Response switching) override;

  // TunnelPort: callable from any thread.
  void tunnelWrite(std::string data) override;
  void tunnelClose() override;
  bool tunnelRun(std::function<void()> task) override;
  void tunnelSetReading(bool reading) override;

 private:
  enum class Phase { Handshake, Reading, Handling, Streaming, Writing, Upgraded, Closed };
  using Timer = boost::asio::steady_timer;

  void onHandshake(const boost::system::error_code& error);
  void handOverToHttp2();
  void beginRequest();
  void parse();
  void maybeSendContinue();
  void dispatch();
  void failRequest(int status);
  void respondNow(std::uint64_t exchange, Response response);
  void startStreamNow(std::uint64_t exchange, const std::shared_ptr<QueuedStream>& stream,
                      int status, const Headers& headers);
  void drainStream(const std::shared_ptr<QueuedStream>& stream);
  void upgradeNow(std::uint64_t exchange, const Response& switching,
                  const std::shared_ptr<UpgradedTunnel>& tunnel);

  void startRead();
  void onRead(const boost::system::error_code& error, std::size_t bytes);
  void queueOut(std::string data);
  void flush();
  void onWritten(const boost::system::error_code& error);
  void outputDrained();

  void beginGracefulClose();
  void finishGracefulClose();
  void lingerUntilEof();
  void closeNow();

  void arm(Timer& timer, std::chrono::steady_clock::duration after);
  static void disarm(Timer& timer);

  const std::shared_ptr<ServerState> server_;
  const std::uint64_t id_;
  boost::asio::any_io_executor executor_;  // the connection's strand
  boost::asio::ssl::stream<boost::asio::ip::tcp::socket> tls_;
  Timer readTimer_;   // handshake, then waiting for a complete request
  Timer writeTimer_;  // a write (or the TLS close) the client does not take
  std::string remoteAddress_;
  std::optional<PeerIdentity> peer_;

  Phase phase_ = Phase::Handshake;
  bool closing_ = false;  // graceful close under way
  std::uint64_t exchange_ = 0;

  // Reading.
  // The read goes into readChunk_, never into buffer_: buffer_ is consumed by the parser while
  // the read is outstanding, and consuming invalidates any region handed out by prepare().
  std::vector<char> readChunk_;
  boost::beast::flat_buffer buffer_;  // received, not yet parsed
  std::optional<boost::beast::http::request_parser<boost::beast::http::string_body>> parser_;
  bool readPending_ = false;
  bool continueSent_ = false;

  // The exchange being answered.
  bool closeAfter_ = false;  // close once this answer is out
  bool http11_ = true;       // chunked streams; HTTP/1.0 bodies end with the connection
  bool headRequest_ = false;
  std::shared_ptr<QueuedStream> stream_;         // open stream, until its end is queued
  std::shared_ptr<QueuedStream> accountStream_;  // whose bytes the queued output carries
  std::shared_ptr<UpgradedTunnel> tunnel_;       // after a 101
  bool tunnelReadPaused_ = false;                // the tunnel's reader asked for a pause
  std::shared_ptr<Connection> pausedHold_;       // keeps a paused tunnel's connection alive
  std::size_t tunnelBytesQueued_ = 0;            // tunnel write()s in out_
  std::size_t tunnelBytesInflight_ = 0;          // and in inflight_

  // Writing: out_ collects, inflight_ is on the wire.
  std::vector<std::string> out_;
  std::vector<std::string> inflight_;
  std::vector<boost::asio::const_buffer> buffers_;
  bool writing_ = false;
  std::size_t streamBytesQueued_ = 0;
  std::size_t streamBytesInflight_ = 0;
};

}  // namespace kite::http::detail
