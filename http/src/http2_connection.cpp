#include "http2_connection.h"

#include <algorithm>
#include <boost/asio/buffer.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <deque>
#include <limits>
#include <string_view>

#include "exchange_responder.h"
#include "queued_stream.h"
#include "server_state.h"
#include "wire.h"

namespace kite::http::detail {
namespace {

namespace asio = boost::asio;
using ErrorCode = boost::system::error_code;
using tcp = asio::ip::tcp;

constexpr std::size_t kReadSize = std::size_t{16} * 1024;
// Frames are pulled from nghttp2 until a batch has about this many bytes; the next batch is
// made once this one is written.
constexpr std::size_t kWriteBatch = std::size_t{64} * 1024;
// Receive windows: large enough that an upload or a burst of requests does not wait for a
// WINDOW_UPDATE round trip every 64 KiB (bodies are copied out as they arrive).
constexpr std::int32_t kStreamWindow = 1024 * 1024;
constexpr std::int32_t kConnectionWindow = 4 * 1024 * 1024;
// How long a GOAWAY may take to leave before the connection is closed anyway.
constexpr std::chrono::seconds kCloseTimeout{5};
constexpr std::chrono::seconds kStopTimeout{1};

// Connection-specific fields (RFC 9113 section 8.2.2) and the fields the server sets itself.
bool droppedResponseField(std::string_view name) {
  return name == "connection" || name == "keep-alive" || name == "proxy-connection" ||
         name == "transfer-encoding" || name == "upgrade" || name == "te" ||
         name == "content-length";
}

bool isTokenChar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
    return true;
  }
  constexpr std::string_view kSpecials = "!#$%&'*+-.^_`|~";
  return kSpecials.find(c) != std::string_view::npos;
}

// A lower-cased response field that may go on the wire.
bool validField(std::string_view name, std::string_view value) {
  return !name.empty() && std::all_of(name.begin(), name.end(), isTokenChar) &&
         value.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

nghttp2_nv field(const std::string& name, const std::string& value) {
  // nghttp2 copies names and values on submit; the casts only satisfy its C signature.
  return nghttp2_nv{reinterpret_cast<std::uint8_t*>(const_cast<char*>(name.data())),
                    reinterpret_cast<std::uint8_t*>(const_cast<char*>(value.data())), name.size(),
                    value.size(), NGHTTP2_NV_FLAG_NONE};
}

std::optional<std::size_t> parseLength(std::string_view text) {
  if (text.empty() || text.size() > 19) {
    return std::nullopt;
  }
  std::size_t value = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') {
      return std::nullopt;
    }
    value = value * 10 + static_cast<std::size_t>(c - '0');
  }
  return value;
}

}  // namespace

struct Http2Connection::StreamState {
  std::int32_t id = 0;
  // The request, while it arrives.
  std::string method;
  std::string target;
  std::string authority;
  Headers headers;
  std::string body;
  std::size_t headerBytes = 0;
  bool headersTooLarge = false;
  bool requestDone = false;  // handed to the handler, or answered by the server itself
  bool head = false;
  // The answer.
  bool answered = false;
  bool resetAfterAnswer = false;         // answered before the upload ended: ask the client to stop
  std::deque<std::string> out;           // body bytes not yet framed
  std::size_t outOffset = 0;             // into out.front()
  bool outEnd = false;                   // END_STREAM once `out` is empty
  bool deferred = false;                 // nghttp2 waits for resume_data
  std::shared_ptr<QueuedStream> stream;  // an open streamed answer (onClose when reset)
  std::shared_ptr<QueuedStream> account;  // whose pieces `out` holds
};

Http2Connection::Http2Connection(TlsStream tls, std::shared_ptr<ServerState> server,
                                 std::uint64_t id, std::string remoteAddress,
                                 std::optional<PeerIdentity> peer)
    : server_(std::move(server)),
      id_(id),
      executor_(tls.get_executor()),
      tls_(std::move(tls)),
      idleTimer_(executor_),
      writeTimer_(executor_),
      remoteAddress_(std::move(remoteAddress)),
      peer_(std::move(peer)) {
  nghttp2_session_callbacks* callbacks = nullptr;
  if (nghttp2_session_callbacks_new(&callbacks) != 0) {
    throw std::bad_alloc();
  }
  nghttp2_session_callbacks_set_on_begin_headers_callback(callbacks, &onBeginHeaders);
  nghttp2_session_callbacks_set_on_header_callback(callbacks, &onHeader);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks, &onDataChunk);
  nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, &onFrameReceived);
  nghttp2_session_callbacks_set_on_frame_send_callback(callbacks, &onFrameSent);
  nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, &onStreamClose);
  nghttp2_option* option = nullptr;
  if (nghttp2_option_new(&option) != 0) {
    nghttp2_session_callbacks_del(callbacks);
    throw std::bad_alloc();
  }
  // The response header table stays at the 4 KiB every peer supports.
  nghttp2_option_set_max_deflate_dynamic_table_size(option, 4096);
  const int created = nghttp2_session_server_new2(&session_, callbacks, this, option);
  nghttp2_option_del(option);
  nghttp2_session_callbacks_del(callbacks);
  if (created != 0) {
    throw std::bad_alloc();
  }
}

Http2Connection::~Http2Connection() { nghttp2_session_del(session_); }

void Http2Connection::start() {
  asio::post(executor_, [self = shared_from_this()] {
    if (self->closed_) {
      return;
    }
    self->started_ = true;
    const auto& options = self->server_->options();
    const nghttp2_settings_entry settings[] = {
        {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, options.maxConcurrentStreams},
        {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE,
         static_cast<std::uint32_t>(std::min<std::size_t>(
             options.maxHeaderBytes, std::numeric_limits<std::uint32_t>::max()))},
        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, static_cast<std::uint32_t>(kStreamWindow)},
    };
    if (nghttp2_submit_settings(self->session_, NGHTTP2_FLAG_NONE, settings,
                                sizeof settings / sizeof settings[0]) != 0 ||
        nghttp2_session_set_local_window_size(self->session_, NGHTTP2_FLAG_NONE, 0,
                                              kConnectionWindow) != 0) {
      self->closeNow();
      return;
    }
    self->armIdle();
    self->flush();
    self->startRead();
  });
}

// ---- nghttp2 callbacks: requests arriving ----

int Http2Connection::onBeginHeaders(nghttp2_session* /*session*/, const nghttp2_frame* frame,
                                    void* user) {
  auto* self = static_cast<Http2Connection*>(user);
  if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) {
    return 0;
  }
  try {
    auto state = std::make_unique<StreamState>();
    state->id = frame->hd.stream_id;
    self->streams_[frame->hd.stream_id] = std::move(state);
  } catch (...) {
    return NGHTTP2_ERR_CALLBACK_FAILURE;
  }
  self->idleTimer_.expires_at(Timer::time_point::max());
  return 0;
}

int Http2Connection::onHeader(nghttp2_session* /*session*/, const nghttp2_frame* frame,
                              const std::uint8_t* name, std::size_t nameLength,
                              const std::uint8_t* value, std::size_t valueLength,
                              std::uint8_t /*flags*/, void* user) {
  auto* self = static_cast<Http2Connection*>(user);
  if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) {
    return 0;  // trailers are not passed on (HTTP/1.1 does not pass them either)
  }
  StreamState* state = self->find(frame->hd.stream_id);
  if (state == nullptr || state->headersTooLarge) {
    return 0;
  }
  // The header list size as HTTP/2 counts it (RFC 9113 section 6.5.2).
  state->headerBytes += nameLength + valueLength + 32;
  if (state->headerBytes > self->server_->options().maxHeaderBytes) {
    state->headersTooLarge = true;
    state->headers.clear();
    return 0;
  }
  try {
    const std::string_view key(reinterpret_cast<const char*>(name), nameLength);
    std::string text(reinterpret_cast<const char*>(value), valueLength);
    // nghttp2 has checked the pseudo-header fields and that names are lower-case.
    if (key == ":method") {
      state->method = std::move(text);
    } else if (key == ":path") {
      state->target = std::move(text);
    } else if (key == ":authority") {
      state->authority = std::move(text);
    } else if (!key.empty() && key.front() != ':') {
      state->headers.emplace_back(std::string(key), std::move(text));
    }
  } catch (...) {
    return NGHTTP2_ERR_CALLBACK_FAILURE;
  }
  return 0;
}

int Http2Connection::onDataChunk(nghttp2_session* /*session*/, std::uint8_t /*flags*/,
                                 std::int32_t streamId, const std::uint8_t* data,
                                 std::size_t length, void* user) {
  auto* self = static_cast<Http2Connection*>(user);
  StreamState* state = self->find(streamId);
  if (state == nullptr || state->requestDone) {
    return 0;  // the rest of an upload already answered: discarded
  }
  if (state->body.size() + length > self->server_->options().maxBodyBytes) {
    std::string().swap(state->body);
    self->answerError(*state, 413);
    return 0;
  }
  try {
    state->body.append(reinterpret_cast<const char*>(data), length);
  } catch (...) {
    return NGHTTP2_ERR_CALLBACK_FAILURE;
  }
  return 0;
}

int Http2Connection::onFrameReceived(nghttp2_session* /*session*/, const nghttp2_frame* frame,
                                     void* user) {
  auto* self = static_cast<Http2Connection*>(user);
  if (frame->hd.type != NGHTTP2_HEADERS && frame->hd.type != NGHTTP2_DATA) {
    return 0;
  }
  StreamState* state = self->find(frame->hd.stream_id);
  if (state == nullptr) {
    return 0;
  }
  try {
    if (frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
      self->requestHeadersDone(*state);
    }
    if ((frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0 && !state->requestDone) {
      self->dispatch(*state);
    }
  } catch (...) {
    return NGHTTP2_ERR_CALLBACK_FAILURE;
  }
  return 0;
}

int Http2Connection::onFrameSent(nghttp2_session* session, const nghttp2_frame* frame, void* user) {
  auto* self = static_cast<Http2Connection*>(user);
  if ((frame->hd.type != NGHTTP2_HEADERS && frame->hd.type != NGHTTP2_DATA) ||
      (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) == 0) {
    return 0;
  }
  StreamState* state = self->find(frame->hd.stream_id);
  if (state != nullptr && state->resetAfterAnswer) {
    // The whole answer is out ahead of this: the client may stop sending the body it can no
    // longer deliver (RFC 9113 section 8.1).
    state->resetAfterAnswer = false;
    nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, state->id, NGHTTP2_NO_ERROR);
  }
  return 0;
}

int Http2Connection::onStreamClose(nghttp2_session* /*session*/, std::int32_t streamId,
                                   std::uint32_t /*errorCode*/, void* user) {
  auto* self = static_cast<Http2Connection*>(user);
  const auto found = self->streams_.find(streamId);
  if (found == self->streams_.end()) {
    return 0;
  }
  // Ended by END_STREAM both ways, or reset by either side: a streamed answer still open is
  // over (its onClose runs); a handler still working answers into nothing.
  const auto stream = std::move(found->second->stream);
  self->streams_.erase(found);
  if (stream) {
    stream->finish();
  }
  self->armIdle();
  return 0;
}

Http2Connection::StreamState* Http2Connection::find(std::int32_t streamId) {
  const auto found = streams_.find(streamId);
  return found == streams_.end() ? nullptr : found->second.get();
}

void Http2Connection::requestHeadersDone(StreamState& state) {
  if (state.headersTooLarge) {
    answerError(state, 431);
    return;
  }
  for (const auto& [name, value] : state.headers) {
    if (name == "content-length") {
      const auto length = parseLength(value);
      if (length && *length > server_->options().maxBodyBytes) {
        answerError(state, 413);  // before the body arrives, as HTTP/1.1 does
      }
      return;
    }
  }
}

void Http2Connection::dispatch(StreamState& state) {
  state.requestDone = true;
  if (state.headersTooLarge) {
    answerError(state, 431);
    return;
  }
  auto split = splitTarget(state.target);
  if (state.method.empty() || !split) {
    answerError(state, 400);
    return;
  }
  Request request;
  request.method = std::move(state.method);
  request.target = std::move(state.target);
  request.path = std::move(split->path);
  request.query = std::move(split->query);
  request.headers = std::move(state.headers);
  // Handlers read the host from "host", whichever protocol carried it.
  if (!state.authority.empty() && !request.header("host")) {
    request.headers.emplace_back("host", std::move(state.authority));
  }
  request.body = std::move(state.body);
  request.peer = peer_;
  request.remoteAddress = remoteAddress_;
  state.head = request.method == "HEAD";

  auto responder =
      std::make_shared<ExchangeResponder>(weak_from_this(), static_cast<std::uint64_t>(state.id),
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
    nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, state.id, NGHTTP2_REFUSED_STREAM);
  }
}

void Http2Connection::answerError(StreamState& state, int status) {
  state.requestDone = true;
  if (state.answered) {
    return;
  }
  state.answered = true;
  state.resetAfterAnswer = nghttp2_session_get_stream_remote_close(session_, state.id) == 0;
  std::string body(reasonPhrase(status));
  body.push_back('\n');
  const std::size_t length = body.size();
  state.out.push_back(std::move(body));
  state.outEnd = true;
  submitHeaders(state, status, {{"content-type", "text/plain; charset=utf-8"}}, length, true);
}

// ---- answers, from the strand ----

void Http2Connection::deliverResponse(std::uint64_t exchange, Response response) {
  asio::post(executor_,
             [self = shared_from_this(), exchange, response = std::move(response)]() mutable {
               self->respondNow(exchange, std::move(response));
             });
}

bool Http2Connection::deliverStreamStart(std::uint64_t exchange,
                                         std::shared_ptr<QueuedStream> stream, int status,
                                         Headers headers) {
  return server_->runIfRunning([&] {
    asio::post(executor_, [self = shared_from_this(), exchange, stream = std::move(stream), status,
                           headers = std::move(headers)]() mutable {
      self->startStreamNow(exchange, stream, status, headers);
    });
  });
}

void Http2Connection::deliverStreamData(std::shared_ptr<QueuedStream> stream) {
  asio::post(executor_, [self = shared_from_this(), stream = std::move(stream)] {
    self->drainStream(stream);
  });
}

void Http2Connection::streamOverflowed(std::shared_ptr<QueuedStream> stream) {
  asio::post(executor_, [self = shared_from_this(), stream = std::move(stream)] {
    StreamState* state =
        self->closed_ ? nullptr : self->find(static_cast<std::int32_t>(stream->exchange()));
    if (state != nullptr && state->stream == stream) {
      // Only this stream is dropped; the connection's other streams go on.
      state->stream.reset();
      state->account.reset();
      state->out.clear();
      state->outOffset = 0;
      nghttp2_submit_rst_stream(self->session_, NGHTTP2_FLAG_NONE, state->id, NGHTTP2_CANCEL);
      self->flush();
    }
    stream->finish();
  });
}

void Http2Connection::abortConnection() {
  asio::post(executor_, [self = shared_from_this()] {
    if (self->closed_) {
      return;
    }
    if (!self->started_) {
      self->closeNow();
      return;
    }
    // The server is stopping: open streams end now (their onClose runs before stop()
    // returns); the client learns from the GOAWAY that nothing more will be served.
    for (auto& [id, state] : self->streams_) {
      if (auto stream = std::move(state->stream)) {
        stream->finish();
      }
    }
    self->goAway(NGHTTP2_NO_ERROR, kStopTimeout);
  });
}

void Http2Connection::respondNow(std::uint64_t exchange, Response response) {
  StreamState* state = closed_ ? nullptr : find(static_cast<std::int32_t>(exchange));
  if (state == nullptr || state->answered) {
    return;  // reset by the client, or the connection is gone
  }
  state->answered = true;
  const bool hasBody = statusHasBody(response.status);
  const std::size_t length = response.body.size();
  const bool withBody = hasBody && !state->head && length > 0;
  if (withBody) {
    state->out.push_back(std::move(response.body));
    state->outEnd = true;
  }
  submitHeaders(*state, response.status, response.headers,
                hasBody ? std::optional<std::size_t>(length) : std::nullopt, withBody);
  flush();
}

void Http2Connection::startStreamNow(std::uint64_t exchange,
                                     const std::shared_ptr<QueuedStream>& stream, int status,
                                     const Headers& headers) {
  StreamState* state = closed_ ? nullptr : find(static_cast<std::int32_t>(exchange));
  if (state == nullptr || state->answered) {
    stream->finish();  // the stream was reset (or the connection closed) before the start
    return;
  }
  state->answered = true;
  if (!statusHasBody(status) || state->head) {
    submitHeaders(*state, status, headers, std::nullopt, false);
    stream->finish();
    flush();
    return;
  }
  state->stream = stream;
  state->account = stream;
  submitHeaders(*state, status, headers, std::nullopt, true);
  drainStream(stream);  // pieces written before the start reached this strand
  flush();
}

void Http2Connection::drainStream(const std::shared_ptr<QueuedStream>& stream) {
  StreamState* state = closed_ ? nullptr : find(static_cast<std::int32_t>(stream->exchange()));
  if (state == nullptr || state->stream != stream) {
    return;  // not started yet (the start drains it) or already over
  }
  auto batch = stream->take();
  for (auto& piece : batch.pieces) {
    state->out.push_back(std::move(piece));
  }
  if (batch.end) {
    state->outEnd = true;
    state->stream.reset();
    stream->finish();
  }
  resumeIfDeferred(*state);
  flush();
}

void Http2Connection::submitHeaders(StreamState& state, int status, const Headers& headers,
                                    std::optional<std::size_t> contentLength, bool withBody) {
  // Names and values live here until nghttp2 has copied them in submit_response.
  std::vector<std::string> storage;
  storage.reserve(2 * headers.size() + 4);
  std::vector<nghttp2_nv> fields;
  fields.reserve(headers.size() + 2);
  storage.emplace_back(":status");
  storage.push_back(std::to_string(status));
  fields.push_back(field(storage[0], storage[1]));
  if (contentLength) {
    storage.emplace_back("content-length");
    storage.push_back(std::to_string(*contentLength));
    fields.push_back(field(storage[2], storage[3]));
  }
  for (const auto& [name, value] : headers) {
    std::string lower = name;
    toLower(lower);
    if (droppedResponseField(lower) || !validField(lower, value)) {
      continue;
    }
    storage.push_back(std::move(lower));
    storage.push_back(value);
    fields.push_back(field(storage[storage.size() - 2], storage.back()));
  }
  nghttp2_data_provider provider{};
  provider.read_callback = &readBody;
  if (nghttp2_submit_response(session_, state.id, fields.data(), fields.size(),
                              withBody ? &provider : nullptr) != 0) {
    nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, state.id, NGHTTP2_INTERNAL_ERROR);
  }
}

ssize_t Http2Connection::readBody(nghttp2_session* /*session*/, std::int32_t streamId,
                                  std::uint8_t* buffer, std::size_t length, std::uint32_t* flags,
                                  nghttp2_data_source* /*source*/, void* user) {
  auto* self = static_cast<Http2Connection*>(user);
  StreamState* state = self->find(streamId);
  if (state == nullptr) {
    return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
  }
  std::size_t copied = 0;
  while (copied < length && !state->out.empty()) {
    const std::string& front = state->out.front();
    const std::size_t take = std::min(length - copied, front.size() - state->outOffset);
    std::copy_n(front.begin() + static_cast<std::ptrdiff_t>(state->outOffset), take,
                buffer + copied);
    copied += take;
    state->outOffset += take;
    if (state->outOffset == front.size()) {
      state->out.pop_front();
      state->outOffset = 0;
    }
  }
  if (copied > 0 && state->account) {
    state->account->written(copied);  // framed: counted against the batch, not the stream
  }
  if (state->out.empty() && state->outEnd) {
    *flags |= NGHTTP2_DATA_FLAG_EOF;
    state->account.reset();
  } else if (copied == 0) {
    state->deferred = true;  // the writer has not written more yet
    return NGHTTP2_ERR_DEFERRED;
  }
  return static_cast<ssize_t>(copied);
}

void Http2Connection::resumeIfDeferred(StreamState& state) {
  if (state.deferred && (!state.out.empty() || state.outEnd)) {
    state.deferred = false;
    nghttp2_session_resume_data(session_, state.id);
  }
}

// ---- I/O ----

void Http2Connection::startRead() {
  if (readPending_ || closed_) {
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

void Http2Connection::onRead(const ErrorCode& error, std::size_t bytes) {
  readPending_ = false;
  if (closed_) {
    return;
  }
  if (error) {
    closeNow();  // EOF, reset or the client's close_notify: the client is gone
    return;
  }
  const ssize_t used = nghttp2_session_mem_recv(
      session_, reinterpret_cast<const std::uint8_t*>(readChunk_.data()), bytes);
  if (used < 0) {
    closeNow();  // not HTTP/2 (bad preface), or a flood nghttp2 refuses to serve
    return;
  }
  flush();
  startRead();
}

void Http2Connection::flush() {
  if (writePending_ || closed_) {
    return;
  }
  writing_.clear();
  while (writing_.size() < kWriteBatch) {
    const std::uint8_t* data = nullptr;
    const ssize_t length = nghttp2_session_mem_send(session_, &data);
    if (length < 0) {
      closeNow();
      return;
    }
    if (length == 0) {
      break;
    }
    writing_.append(reinterpret_cast<const char*>(data), static_cast<std::size_t>(length));
  }
  if (writing_.empty()) {
    if (nghttp2_session_want_read(session_) == 0 && nghttp2_session_want_write(session_) == 0) {
      closeNow();  // GOAWAY sent (ours or after the client's) and nothing left to do
    }
    return;
  }
  writePending_ = true;
  armWrite(goingAway_ ? goAwayWithin_ : server_->options().idleTimeout);
  asio::async_write(tls_, asio::buffer(writing_),
                    [self = shared_from_this()](const ErrorCode& error, std::size_t /*bytes*/) {
                      self->onWritten(error);
                    });
}

void Http2Connection::onWritten(const ErrorCode& error) {
  writePending_ = false;
  writeTimer_.expires_at(Timer::time_point::max());
  if (closed_) {
    return;
  }
  if (error) {
    closeNow();
    return;
  }
  flush();
}

void Http2Connection::goAway(std::uint32_t errorCode, std::chrono::steady_clock::duration within) {
  if (goingAway_ || closed_) {
    return;
  }
  goingAway_ = true;
  goAwayWithin_ = within;
  idleTimer_.expires_at(Timer::time_point::max());
  if (nghttp2_session_terminate_session(session_, errorCode) != 0) {
    closeNow();
    return;
  }
  if (writePending_) {
    armWrite(within);  // a write the client does not take must not hold the close up
  }
  flush();
}

void Http2Connection::closeNow() {
  if (closed_) {
    return;
  }
  closed_ = true;
  ErrorCode ignored;
  tls_.next_layer().shutdown(tcp::socket::shutdown_both, ignored);  // NOLINT
  tls_.next_layer().close(ignored);                                 // NOLINT
  idleTimer_.cancel();
  writeTimer_.cancel();
  auto streams = std::move(streams_);
  streams_.clear();
  for (auto& [id, state] : streams) {
    if (state->stream) {
      state->stream->finish();
    }
  }
  server_->forget(id_);
}

void Http2Connection::armIdle() {
  const auto after = server_->options().idleTimeout;
  if (closed_ || goingAway_ || !streams_.empty() || after <= std::chrono::seconds::zero()) {
    return;
  }
  idleTimer_.expires_after(after);
  idleTimer_.async_wait([self = shared_from_this()](const ErrorCode& error) {
    // A timer re-armed or disarmed after this wait fired is not expired: ignore it then.
    if (error || self->closed_ || self->idleTimer_.expiry() > std::chrono::steady_clock::now() ||
        !self->streams_.empty()) {
      return;
    }
    self->goAway(NGHTTP2_NO_ERROR, kCloseTimeout);
  });
}

void Http2Connection::armWrite(std::chrono::steady_clock::duration after) {
  if (after <= std::chrono::steady_clock::duration::zero()) {
    writeTimer_.expires_at(Timer::time_point::max());
    return;
  }
  writeTimer_.expires_after(after);
  writeTimer_.async_wait([self = shared_from_this()](const ErrorCode& error) {
    if (!error && self->writeTimer_.expiry() <= std::chrono::steady_clock::now()) {
      self->closeNow();
    }
  });
}

}  // namespace kite::http::detail
