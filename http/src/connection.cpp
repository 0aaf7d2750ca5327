#include "connection.h"

#include <openssl/ssl.h>

#include <algorithm>
#include <boost/asio/buffer.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>
#include <limits>
#include <utility>

#include "exchange_responder.h"
#include "http2_connection.h"
#include "queued_stream.h"
#include "server_state.h"
#include "tls.h"
#include "wire.h"

namespace kite::http::detail {
namespace {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using ErrorCode = boost::system::error_code;
using tcp = asio::ip::tcp;

constexpr std::size_t kReadSize = std::size_t{16} * 1024;
// Pieces smaller than this are copied together, so a stream of small events becomes one TLS
// record and one syscall instead of three each; larger pieces are sent from where they are.
constexpr std::size_t kCoalesceBytes = std::size_t{16} * 1024;
constexpr std::chrono::seconds kCloseTimeout{5};
// After our FIN, how long to wait for the client's before closing anyway.
constexpr std::chrono::seconds kLingerTimeout{2};

std::string formatEndpoint(const tcp::endpoint& endpoint) {
  auto address = endpoint.address();
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    address = asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6());
  }
  std::string text;
  if (address.is_v6()) {
    text.append("[").append(address.to_string()).append("]");
  } else {
    text.append(address.to_string());
  }
  text.append(":").append(std::to_string(endpoint.port()));
  return text;
}

int statusFor(const ErrorCode& error) {
  if (error == bhttp::error::header_limit) {
    return 431;
  }
  if (error == bhttp::error::body_limit) {
    return 413;
  }
  return 400;
}

}  // namespace

Connection::Connection(tcp::socket socket, asio::ssl::context& tls,
                       std::shared_ptr<ServerState> server, std::uint64_t id)
    : server_(std::move(server)),
      id_(id),
      executor_(socket.get_executor()),
      tls_(std::move(socket), tls),
      readTimer_(executor_),
      writeTimer_(executor_) {
  ErrorCode error;
  const auto endpoint = tls_.next_layer().remote_endpoint(error);
  if (!error) {
    remoteAddress_ = formatEndpoint(endpoint);
  }
}

void Connection::start() {
  asio::post(executor_, [self = shared_from_this()] {
    if (self->phase_ == Phase::Closed) {
      return;
    }
    self->arm(self->readTimer_, self->server_->options().handshakeTimeout);
    self->tls_.async_handshake(asio::ssl::stream_base::server,
                               [self](const ErrorCode& error) { self->onHandshake(error); });
  });
}

void Connection::onHandshake(const ErrorCode& error) {
  if (phase_ == Phase::Closed) {
    return;
  }
  if (error) {
    closeNow();  // bad or missing client certificate, no common protocol, timeout, ...
    return;
  }
  disarm(readTimer_);
  peer_ = verifiedPeer(tls_.native_handle());
  if (negotiatedProtocol(tls_.native_handle()) == "h2") {
    handOverToHttp2();
    return;
  }
  // ALPN agreed on "http/1.1" or on nothing: HTTP/1.1.
  beginRequest();
}

void Connection::handOverToHttp2() {
  // Bytes the client sent after the handshake are still inside the TLS stream's buffers, so
  // they move along with it.
  auto successor = std::make_shared<Http2Connection>(std::move(tls_), server_, id_,
                                                     std::move(remoteAddress_), std::move(peer_));
  // This object is done: it must neither touch the moved-from stream nor unregister the id.
  phase_ = Phase::Closed;
  readTimer_.cancel();
  writeTimer_.cancel();
  if (!server_->replace(id_, successor)) {
    successor->abortConnection();  // stopping: the successor closes the socket
    return;
  }
  successor->start();
}

void Connection::beginRequest() {
  phase_ = Phase::Reading;
  ++exchange_;
  closeAfter_ = false;
  http11_ = true;
  headRequest_ = false;
  continueSent_ = false;
  accountStream_.reset();
  const auto& options = server_->options();
  parser_.emplace();
  parser_->header_limit(static_cast<std::uint32_t>(
      std::min<std::size_t>(options.maxHeaderBytes, std::numeric_limits<std::uint32_t>::max())));
  parser_->body_limit(static_cast<std::uint64_t>(options.maxBodyBytes));
  parser_->eager(true);
  arm(readTimer_, options.idleTimeout);
  parse();  // a pipelined request may already be buffered
  startRead();
}

void Connection::parse() {
  while (phase_ == Phase::Reading && buffer_.size() > 0) {
    ErrorCode error;
    const std::size_t used = parser_->put(buffer_.data(), error);
    buffer_.consume(used);
    if (error == bhttp::error::need_more) {
      break;
    }
    if (error) {
      failRequest(statusFor(error));
      return;
    }
    if (parser_->is_done()) {
      dispatch();
      return;
    }
    if (used == 0) {
      break;
    }
  }
  if (phase_ == Phase::Reading) {
    maybeSendContinue();
  }
}

void Connection::maybeSendContinue() {
  if (continueSent_ || !parser_->is_header_done()) {
    return;
  }
  const auto& message = parser_->get();
  if (message.version() < 11 ||
      !boost::beast::iequals(message[bhttp::field::expect], "100-continue")) {
    return;
  }
  continueSent_ = true;
  queueOut("HTTP/1.1 100 Continue\r\n\r\n");
  flush();
}

void Connection::dispatch() {
  disarm(readTimer_);
  auto message = parser_->release();
  parser_.reset();

  Request request;
  request.method = std::string(message.method_string());
  request.target = std::string(message.target());
  auto split = splitTarget(request.target);
  if (!split) {
    failRequest(400);
    return;
  }
  request.path = std::move(split->path);
  request.query = std::move(split->query);
  for (const auto& field : message) {
    std::string name(field.name_string());
    toLower(name);
    request.headers.emplace_back(std::move(name), std::string(field.value()));
  }
  request.body = std::move(message.body());
  request.peer = peer_;
  request.remoteAddress = remoteAddress_;

  closeAfter_ = !message.keep_alive();
  http11_ = message.version() >= 11;
  headRequest_ = message.method() == bhttp::verb::head;
  phase_ = Phase::Handling;

  auto responder = std::make_shared<ExchangeResponder>(weak_from_this(), exchange_,
                                                       server_->options().maxStreamQueueBytes);
  auto task = [server = server_, request = std::move(request), responder]() mutable {
    if (server->stopping()) {
      return;  // the connection is closed already; the responder's 500 goes nowhere
    }
    try {
      server->handler()(request, responder);
    } catch (...) {
      responder->failIfUnanswered();
    }
  };
  if (!server_->pool().post(std::move(task))) {
    closeNow();
  }
}

void Connection::failRequest(int status) {
  disarm(readTimer_);
  parser_.reset();
  phase_ = Phase::Writing;
  closeAfter_ = true;  // the rest of the byte stream cannot be trusted to frame a request
  std::string body(reasonPhrase(status));
  body.push_back('\n');
  std::string head;
  appendHead(head, status, {{"content-type", "text/plain; charset=utf-8"}});
  head.append("content-length: ").append(std::to_string(body.size()));
  head.append("\r\nconnection: close\r\n\r\n");
  head.append(body);
  queueOut(std::move(head));
  flush();
}

void Connection::deliverResponse(std::uint64_t exchange, Response response) {
  asio::post(executor_,
             [self = shared_from_this(), exchange, response = std::move(response)]() mutable {
               self->respondNow(exchange, std::move(response));
             });
}

bool Connection::deliverStreamStart(std::uint64_t exchange, std::shared_ptr<QueuedStream> stream,
                                    int status, Headers headers) {
  return server_->runIfRunning([&] {
    asio::post(executor_, [self = shared_from_this(), exchange, stream = std::move(stream), status,
                           headers = std::move(headers)]() mutable {
      self->startStreamNow(exchange, stream, status, headers);
    });
  });
}

void Connection::deliverStreamData(std::shared_ptr<QueuedStream> stream) {
  asio::post(executor_, [self = shared_from_this(), stream = std::move(stream)] {
    self->drainStream(stream);
    self->flush();
  });
}

void Connection::streamOverflowed(std::shared_ptr<QueuedStream> /*stream*/) {
  // One exchange at a time: dropping the stream means dropping the connection; its close
  // finishes the stream.
  abortConnection();
}

void Connection::abortConnection() {
  asio::post(executor_, [self = shared_from_this()] { self->closeNow(); });
}

std::shared_ptr<Tunnel> Connection::deliverUpgrade(std::uint64_t exchange, Response switching) {
  auto tunnel = std::make_shared<UpgradedTunnel>(weak_from_this());
  const bool posted = server_->runIfRunning([&] {
    asio::post(executor_, [self = shared_from_this(), exchange, switching = std::move(switching),
                           tunnel] { self->upgradeNow(exchange, switching, tunnel); });
  });
  if (!posted) {
    tunnel->peerClosed();
  }
  return tunnel;
}

void Connection::upgradeNow(std::uint64_t exchange, const Response& switching,
                            const std::shared_ptr<UpgradedTunnel>& tunnel) {
  if (phase_ != Phase::Handling || exchange != exchange_) {
    tunnel->peerClosed();
    return;
  }
  std::string head;
  head.reserve(256);
  appendHead(head, switching.status, switching.headers);
  head.append("connection: Upgrade\r\n\r\n");
  queueOut(std::move(head));
  phase_ = Phase::Upgraded;
  closeAfter_ = false;
  tunnel_ = tunnel;
  disarm(readTimer_);  // an exec session may sit idle for hours
  if (buffer_.size() > 0) {
    const auto data = buffer_.data();
    tunnel->received(std::string(static_cast<const char*>(data.data()), data.size()));
    buffer_.consume(buffer_.size());
  }
  flush();
  startRead();
}

void Connection::tunnelWrite(std::string data) {
  asio::post(executor_, [self = shared_from_this(), data = std::move(data)]() mutable {
    if (self->phase_ != Phase::Upgraded) {
      return;
    }
    self->tunnelBytesQueued_ += data.size();
    self->queueOut(std::move(data));
    self->flush();
  });
}

void Connection::tunnelSetReading(bool reading) {
  asio::post(executor_, [self = shared_from_this(), reading] {
    if (self->phase_ == Phase::Closed) {
      return;
    }
    self->tunnelReadPaused_ = !reading;
    if (reading) {
      self->pausedHold_.reset();
      self->startRead();
    } else {
      // With no read outstanding and nothing to write, no handler would hold the connection.
      self->pausedHold_ = self;
    }
  });
}

void Connection::tunnelClose() {
  asio::post(executor_, [self = shared_from_this()] {
    if (self->phase_ != Phase::Upgraded) {
      return;
    }
    self->closeAfter_ = true;
    self->flush();  // closes once the queued bytes are out
  });
}

bool Connection::tunnelRun(std::function<void()> task) {
  // A closed connection still runs it: the tunnel then reports its end from there.
  asio::post(executor_, std::move(task));
  return true;
}

void Connection::respondNow(std::uint64_t exchange, Response response) {
  if (phase_ != Phase::Handling || exchange != exchange_) {
    return;
  }
  if (wantsClose(response.headers)) {
    closeAfter_ = true;
  }
  const bool hasBody = statusHasBody(response.status);
  std::string head;
  head.reserve(256);
  appendHead(head, response.status, response.headers);
  if (hasBody) {
    head.append("content-length: ").append(std::to_string(response.body.size())).append("\r\n");
  }
  if (closeAfter_) {
    head.append("connection: close\r\n");
  } else if (!http11_) {
    head.append("connection: keep-alive\r\n");
  }
  head.append("\r\n");
  queueOut(std::move(head));
  if (hasBody && !headRequest_) {
    queueOut(std::move(response.body));
  }
  phase_ = Phase::Writing;
  flush();
}

void Connection::startStreamNow(std::uint64_t exchange, const std::shared_ptr<QueuedStream>& stream,
                                int status, const Headers& headers) {
  if (phase_ != Phase::Handling || exchange != exchange_) {
    stream->finish();  // the connection closed (or moved on) before the stream could start
    return;
  }
  if (wantsClose(headers) || !http11_) {
    closeAfter_ = true;  // without chunking, an HTTP/1.0 body ends with the connection
  }
  const bool hasBody = statusHasBody(status) && !headRequest_;
  std::string head;
  head.reserve(256);
  appendHead(head, status, headers);
  if (hasBody && http11_) {
    head.append("transfer-encoding: chunked\r\n");
  }
  if (closeAfter_) {
    head.append("connection: close\r\n");
  }
  head.append("\r\n");
  queueOut(std::move(head));
  if (!hasBody) {
    stream->finish();
    phase_ = Phase::Writing;
    flush();
    return;
  }
  phase_ = Phase::Streaming;
  stream_ = stream;
  accountStream_ = stream;
  drainStream(stream);  // pieces written before the start reached this strand
  flush();
}

void Connection::drainStream(const std::shared_ptr<QueuedStream>& stream) {
  if (phase_ != Phase::Streaming || stream != stream_) {
    return;  // not started yet (the start drains it) or already over
  }
  auto batch = stream->take();
  for (auto& piece : batch.pieces) {
    streamBytesQueued_ += piece.size();
    if (http11_) {
      std::string size;
      appendChunkSize(size, piece.size());
      queueOut(std::move(size));
      queueOut(std::move(piece));
      queueOut("\r\n");
    } else {
      queueOut(std::move(piece));
    }
  }
  if (batch.end) {
    if (http11_) {
      queueOut("0\r\n\r\n");
    }
    stream_.reset();
    phase_ = Phase::Writing;  // the next request is read once the final chunk is out
    stream->finish();
  }
}

void Connection::startRead() {
  if (readPending_ || closing_ || phase_ == Phase::Closed || phase_ == Phase::Handshake) {
    return;
  }
  if (phase_ == Phase::Upgraded && tunnelReadPaused_) {
    return;  // tunnelSetReading(true) reads on
  }
  // While an answer is under way, read ahead only so far: enough to notice the client
  // leaving and to hold a pipelined request, not an unbounded upload.
  if (phase_ != Phase::Reading && buffer_.size() >= server_->options().maxHeaderBytes + kReadSize) {
    return;
  }
  readPending_ = true;
  if (readChunk_.empty()) {
    readChunk_.resize(kReadSize);
  }
  tls_.async_read_some(asio::buffer(readChunk_),
                       [self = shared_from_this()](const ErrorCode& error, std::size_t bytes) {
                         self->onRead(error, bytes);
                       });
}

void Connection::onRead(const ErrorCode& error, std::size_t bytes) {
  readPending_ = false;
  if (phase_ == Phase::Closed) {
    return;
  }
  if (closing_) {
    finishGracefulClose();
    return;
  }
  if (error) {
    closeNow();  // EOF, reset or the client's close_notify: the client is gone
    return;
  }
  if (phase_ == Phase::Upgraded) {
    tunnel_->received(std::string(readChunk_.data(), bytes));
    startRead();
    return;
  }
  asio::buffer_copy(buffer_.prepare(bytes), asio::buffer(readChunk_.data(), bytes));
  buffer_.commit(bytes);
  if (phase_ == Phase::Reading) {
    parse();
  }
  startRead();
}

void Connection::queueOut(std::string data) {
  if (data.empty()) {
    return;
  }
  if (!out_.empty() && out_.back().size() < kCoalesceBytes && data.size() < kCoalesceBytes) {
    out_.back().append(data);
  } else {
    out_.push_back(std::move(data));
  }
}

void Connection::flush() {
  if (writing_ || closing_ || phase_ == Phase::Closed) {
    return;
  }
  if (out_.empty()) {
    outputDrained();
    return;
  }
  inflight_.swap(out_);
  out_.clear();
  buffers_.clear();
  buffers_.reserve(inflight_.size());
  for (const auto& piece : inflight_) {
    buffers_.emplace_back(piece.data(), piece.size());
  }
  streamBytesInflight_ = streamBytesQueued_;
  streamBytesQueued_ = 0;
  tunnelBytesInflight_ = tunnelBytesQueued_;
  tunnelBytesQueued_ = 0;
  writing_ = true;
  arm(writeTimer_, server_->options().idleTimeout);
  asio::async_write(tls_, buffers_,
                    [self = shared_from_this()](const ErrorCode& error, std::size_t /*bytes*/) {
                      self->onWritten(error);
                    });
}

void Connection::onWritten(const ErrorCode& error) {
  writing_ = false;
  disarm(writeTimer_);
  if (accountStream_ && streamBytesInflight_ > 0) {
    accountStream_->written(streamBytesInflight_);
  }
  streamBytesInflight_ = 0;
  inflight_.clear();
  if (phase_ == Phase::Closed) {
    return;
  }
  if (error) {
    closeNow();
    return;
  }
  if (tunnel_ && tunnelBytesInflight_ > 0) {
    tunnel_->sent(std::exchange(tunnelBytesInflight_, 0));
  }
  flush();
}

void Connection::outputDrained() {
  if (phase_ == Phase::Upgraded && closeAfter_) {
    beginGracefulClose();
    return;
  }
  if (phase_ != Phase::Writing) {
    return;
  }
  if (closeAfter_) {
    beginGracefulClose();
  } else {
    beginRequest();
  }
}

void Connection::beginGracefulClose() {
  if (closing_ || phase_ == Phase::Closed) {
    return;
  }
  closing_ = true;
  disarm(readTimer_);
  if (readPending_) {
    // The TLS close must not run beside the outstanding read: cancel it, onRead goes on.
    ErrorCode ignored;
    tls_.next_layer().cancel(ignored);  // NOLINT(bugprone-unused-return-value)
    return;
  }
  finishGracefulClose();
}

void Connection::finishGracefulClose() {
  // Send close_notify without waiting for the client's: nothing more will be read, and a
  // client that never answers must not hold the connection.
  SSL_set_shutdown(tls_.native_handle(), SSL_RECEIVED_SHUTDOWN);
  arm(writeTimer_, kCloseTimeout);
  tls_.async_shutdown([self = shared_from_this()](const ErrorCode& error) {
    if (error || self->phase_ == Phase::Closed) {
      self->closeNow();
      return;
    }
    // Half-close and read until the client closes too. Closing a socket that still has
    // unread bytes (the rest of an upload answered with 413) sends a reset, which can destroy
    // the answer before the client has read it.
    ErrorCode ignored;
    self->tls_.next_layer().shutdown(tcp::socket::shutdown_send, ignored);  // NOLINT
    self->arm(self->writeTimer_, kLingerTimeout);
    self->lingerUntilEof();
  });
}

void Connection::lingerUntilEof() {
  if (readChunk_.empty()) {
    readChunk_.resize(kReadSize);
  }
  tls_.next_layer().async_read_some(
      asio::buffer(readChunk_),
      [self = shared_from_this()](const ErrorCode& error, std::size_t /*bytes*/) {
        if (error || self->phase_ == Phase::Closed) {
          self->closeNow();  // the client's FIN (or the linger timeout closed the socket)
          return;
        }
        self->lingerUntilEof();  // discard
      });
}

void Connection::closeNow() {
  if (phase_ == Phase::Closed) {
    return;
  }
  phase_ = Phase::Closed;
  if (pausedHold_) {
    // Let go from a later handler, not from inside this one.
    asio::post(executor_, [hold = std::move(pausedHold_)] {});
    pausedHold_.reset();
  }
  ErrorCode ignored;
  tls_.next_layer().shutdown(tcp::socket::shutdown_both, ignored);  // NOLINT
  tls_.next_layer().close(ignored);                                 // NOLINT
  readTimer_.cancel();
  writeTimer_.cancel();
  parser_.reset();
  out_.clear();
  if (stream_) {
    const auto stream = std::move(stream_);
    stream_.reset();
    stream->finish();
  }
  if (tunnel_) {
    const auto tunnel = std::move(tunnel_);
    tunnel_.reset();
    tunnel->peerClosed();
  }
  server_->forget(id_);
}

void Connection::arm(Timer& timer, std::chrono::steady_clock::duration after) {
  if (after <= std::chrono::steady_clock::duration::zero()) {
    disarm(timer);
    return;
  }
  timer.expires_after(after);
  timer.async_wait([self = shared_from_this(), &timer](const ErrorCode& error) {
    // A timer re-armed or disarmed after this wait fired is not expired: ignore it then.
    if (!error && timer.expiry() <= std::chrono::steady_clock::now()) {
      self->closeNow();
    }
  });
}

void Connection::disarm(Timer& timer) { timer.expires_at(Timer::time_point::max()); }

}  // namespace kite::http::detail
