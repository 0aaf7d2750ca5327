#pragma once
// One TLS connection speaking HTTP/2 (RFC 9113), after ALPN agreed on "h2". libnghttp2 does
// the framing, HPACK and flow control; this class does the I/O on the connection's strand and
// turns each stream into a Request for the handler and its answer into HEADERS and DATA.
//
// Each stream is one exchange (the exchange number is the stream id), so the same
// ExchangeResponder and QueuedStream serve both protocols. A streamed answer's pieces move
// from the QueuedStream into the stream's outgoing queue here, and from there into DATA
// frames only as the client's flow-control windows allow; the QueuedStream counts a piece
// until it is framed, so a client that does not read one stream fills that stream's queue
// (and only that stream is reset), while a client that does not read the connection at all
// stops the writes (and the write timeout closes it).
//
// Output is produced in batches: frames are pulled from nghttp2 only when the previous batch
// has been written, so what waits for the socket is bounded by one batch.

#include <nghttp2/nghttp2.h>
#include <sys/types.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "exchange_sink.h"
#include "kite/http/server.h"

namespace kite::http::detail {

class QueuedStream;
class ServerState;

class Http2Connection final : public ExchangeSink,
                              public std::enable_shared_from_this<Http2Connection> {
 public:
  using TlsStream = boost::asio::ssl::stream<boost::asio::ip::tcp::socket>;

  // `tls` has completed its handshake with ALPN "h2".
  Http2Connection(TlsStream tls, std::shared_ptr<ServerState> server, std::uint64_t id,
                  std::string remoteAddress, std::optional<PeerIdentity> peer);
  ~Http2Connection() override;
  Http2Connection(const Http2Connection&) = delete;
  Http2Connection& operator=(const Http2Connection&) = delete;

  // Sends the server's SETTINGS and begins reading (on the connection's strand).
  void start();

  // ExchangeSink: callable from any thread.
  void deliverResponse(std::uint64_t exchange, Response response) override;
  bool deliverStreamStart(std::uint64_t exchange, std::shared_ptr<QueuedStream> stream, int status,
                          Headers headers) override;
  void deliverStreamData(std::shared_ptr<QueuedStream> stream) override;
  void streamOverflowed(std::shared_ptr<QueuedStream> stream) override;
  void abortConnection() override;

 private:
  struct StreamState;
  using Timer = boost::asio::steady_timer;

  // nghttp2 callbacks (user_data is the connection).
  static int onBeginHeaders(nghttp2_session* session, const nghttp2_frame* frame, void* user);
  static int onHeader(nghttp2_session* session, const nghttp2_frame* frame,
                      const std::uint8_t* name, std::size_t nameLength, const std::uint8_t* value,
                      std::size_t valueLength, std::uint8_t flags, void* user);
  static int onDataChunk(nghttp2_session* session, std::uint8_t flags, std::int32_t streamId,
                         const std::uint8_t* data, std::size_t length, void* user);
  static int onFrameReceived(nghttp2_session* session, const nghttp2_frame* frame, void* user);
  static int onFrameSent(nghttp2_session* session, const nghttp2_frame* frame, void* user);
  static int onStreamClose(nghttp2_session* session, std::int32_t streamId, std::uint32_t errorCode,
                           void* user);
  static ssize_t readBody(nghttp2_session* session, std::int32_t streamId, std::uint8_t* buffer,
                          std::size_t length, std::uint32_t* flags, nghttp2_data_source* source,
                          void* user);

  StreamState* find(std::int32_t streamId);
  void requestHeadersDone(StreamState& state);
  void dispatch(StreamState& state);
  void answerError(StreamState& state, int status);
  void respondNow(std::uint64_t exchange, Response response);
  void startStreamNow(std::uint64_t exchange, const std::shared_ptr<QueuedStream>& stream,
                      int status, const Headers& headers);
  void drainStream(const std::shared_ptr<QueuedStream>& stream);
  void submitHeaders(StreamState& state, int status, const Headers& headers,
                     std::optional<std::size_t> contentLength, bool withBody);
  void resumeIfDeferred(StreamState& state);

  void startRead();
  void onRead(const boost::system::error_code& error, std::size_t bytes);
  void flush();
  void onWritten(const boost::system::error_code& error);
  void goAway(std::uint32_t errorCode, std::chrono::steady_clock::duration within);
  void closeNow();
  void armIdle();
  void armWrite(std::chrono::steady_clock::duration after);

  const std::shared_ptr<ServerState> server_;
  const std::uint64_t id_;
  boost::asio::any_io_executor executor_;  // the connection's strand
  TlsStream tls_;
  Timer idleTimer_;   // no open stream for idleTimeout
  Timer writeTimer_;  // a write the client does not take; the GOAWAY before a close
  const std::string remoteAddress_;
  const std::optional<PeerIdentity> peer_;
  nghttp2_session* session_ = nullptr;

  std::unordered_map<std::int32_t, std::unique_ptr<StreamState>> streams_;
  bool started_ = false;
  bool closed_ = false;
  bool goingAway_ = false;  // GOAWAY queued: close once it is out
  std::chrono::steady_clock::duration goAwayWithin_{};

  std::vector<char> readChunk_;
  bool readPending_ = false;
  std::string writing_;  // the batch on the wire
  bool writePending_ = false;
};

}  // namespace kite::http::detail
