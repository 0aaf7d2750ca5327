#include "h2_client.h"

#include <csignal>

#include <algorithm>
#include <stdexcept>

namespace kite::http::testing {
namespace {

nghttp2_nv field(const std::string& name, const std::string& value) {
  return nghttp2_nv{reinterpret_cast<std::uint8_t*>(const_cast<char*>(name.data())),
                    reinterpret_cast<std::uint8_t*>(const_cast<char*>(value.data())), name.size(),
                    value.size(), NGHTTP2_NV_FLAG_NONE};
}

}  // namespace

std::optional<std::string> H2Reply::header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (key == name) {
      return value;
    }
  }
  return std::nullopt;
}

H2Client::H2Client(std::uint16_t port, const ClientTls& tls, H2Options options)
    : options_(options),
      tls_(std::make_unique<TlsClient>(port, tls, std::vector<std::string>{"h2"})) {
  // Frames sent after the server closed (a WINDOW_UPDATE racing its GOAWAY) must fail the
  // write, not kill the test process.
  std::signal(SIGPIPE, SIG_IGN);  // NOLINT(cert-err33-c)
  if (tls_->alpn() != "h2") {
    throw std::runtime_error("ALPN did not agree on h2 but on \"" + tls_->alpn() + "\"");
  }
  nghttp2_session_callbacks* callbacks = nullptr;
  nghttp2_session_callbacks_new(&callbacks);
  nghttp2_session_callbacks_set_on_header_callback(callbacks, &onHeader);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks, &onData);
  nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, &onFrame);
  nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, &onClose);
  nghttp2_option* option = nullptr;
  nghttp2_option_new(&option);
  nghttp2_option_set_no_auto_window_update(option, options_.autoWindowUpdate ? 0 : 1);
  nghttp2_option_set_max_send_header_block_length(option, options_.maxSendHeaderBlock);
  const int created = nghttp2_session_client_new2(&session_, callbacks, this, option);
  nghttp2_option_del(option);
  nghttp2_session_callbacks_del(callbacks);
  if (created != 0) {
    throw std::runtime_error("nghttp2_session_client_new2 failed");
  }
  nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, nullptr, 0);
  sendPending();
}

H2Client::~H2Client() { nghttp2_session_del(session_); }

std::int32_t H2Client::submit(const std::string& method, const std::string& path,
                              const std::vector<std::pair<std::string, std::string>>& headers,
                              std::optional<std::string> body) {
  const std::string methodName = ":method";
  const std::string pathName = ":path";
  const std::string schemeName = ":scheme";
  const std::string scheme = "https";
  const std::string authorityName = ":authority";
  const std::string authority = "127.0.0.1";
  std::vector<nghttp2_nv> fields{field(methodName, method), field(pathName, path),
                                 field(schemeName, scheme), field(authorityName, authority)};
  for (const auto& [name, value] : headers) {
    fields.push_back(field(name, value));
  }
  nghttp2_data_provider provider{};
  provider.read_callback = &readUpload;
  const std::int32_t id = nghttp2_submit_request(session_, nullptr, fields.data(), fields.size(),
                                                 body ? &provider : nullptr, nullptr);
  if (id < 0) {
    throw std::runtime_error(std::string("nghttp2_submit_request: ") + nghttp2_strerror(id));
  }
  replies_[id];
  if (body) {
    uploads_[id] = Upload{std::move(*body), 0};
  }
  return id;
}

void H2Client::reset(std::int32_t stream, std::uint32_t code) {
  nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, stream, code);
  sendPending();
}

bool H2Client::runUntil(const std::function<bool()>& done) {
  for (;;) {
    sendPending();
    if (done()) {
      return true;
    }
    if (ended_) {
      return false;
    }
    auto data = tls_->readSome();
    if (!data) {
      ended_ = true;
      return done();
    }
    const std::string& bytes = *data;
    const std::size_t size = bytes.size();
    const auto used = nghttp2_session_mem_recv(
        session_, reinterpret_cast<const std::uint8_t*>(bytes.data()), size);
    if (used < 0) {
      throw std::runtime_error(std::string("nghttp2_session_mem_recv: ") +
                               nghttp2_strerror(static_cast<int>(used)));
    }
  }
}

H2Reply H2Client::fetch(const std::string& method, const std::string& path,
                        const std::vector<std::pair<std::string, std::string>>& headers,
                        std::optional<std::string> body) {
  const auto id = submit(method, path, headers, std::move(body));
  runUntil([&] { return replies_[id].closed; });
  return replies_[id];
}

std::uint32_t H2Client::peerMaxConcurrentStreams() const {
  return nghttp2_session_get_remote_settings(session_, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS);
}

void H2Client::sendPending() {
  for (;;) {
    const std::uint8_t* data = nullptr;
    const auto length = nghttp2_session_mem_send(session_, &data);
    if (length <= 0) {
      return;
    }
    try {
      tls_->send(
          std::string_view(reinterpret_cast<const char*>(data), static_cast<std::size_t>(length)));
    } catch (const std::runtime_error&) {
      ended_ = true;  // the server closed the connection
      return;
    }
  }
}

int H2Client::onHeader(nghttp2_session* /*session*/, const nghttp2_frame* frame,
                       const std::uint8_t* name, std::size_t nameLength, const std::uint8_t* value,
                       std::size_t valueLength, std::uint8_t /*flags*/, void* user) {
  auto* self = static_cast<H2Client*>(user);
  if (frame->hd.type != NGHTTP2_HEADERS) {
    return 0;
  }
  auto& reply = self->replies_[frame->hd.stream_id];
  const std::string key(reinterpret_cast<const char*>(name), nameLength);
  std::string text(reinterpret_cast<const char*>(value), valueLength);
  if (key == ":status") {
    reply.status = std::stoi(text);
  } else {
    reply.headers.emplace_back(key, std::move(text));
  }
  return 0;
}

int H2Client::onData(nghttp2_session* session, std::uint8_t /*flags*/, std::int32_t stream,
                     const std::uint8_t* data, std::size_t length, void* user) {
  auto* self = static_cast<H2Client*>(user);
  self->replies_[stream].body.append(reinterpret_cast<const char*>(data), length);
  if (!self->options_.autoWindowUpdate) {
    // A slow reader of this stream, not of the connection.
    nghttp2_session_consume_connection(session, length);
  }
  return 0;
}

int H2Client::onFrame(nghttp2_session* /*session*/, const nghttp2_frame* frame, void* user) {
  auto* self = static_cast<H2Client*>(user);
  if (frame->hd.type == NGHTTP2_GOAWAY) {
    self->goAway_ = true;
    self->goAwayCode_ = frame->goaway.error_code;
  } else if ((frame->hd.type == NGHTTP2_HEADERS || frame->hd.type == NGHTTP2_DATA) &&
             (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0) {
    self->replies_[frame->hd.stream_id].ended = true;
  } else if (frame->hd.type == NGHTTP2_RST_STREAM) {
    auto& reply = self->replies_[frame->hd.stream_id];
    reply.reset = true;
    reply.resetCode = frame->rst_stream.error_code;
  }
  return 0;
}

int H2Client::onClose(nghttp2_session* /*session*/, std::int32_t stream, std::uint32_t code,
                      void* user) {
  auto* self = static_cast<H2Client*>(user);
  auto& reply = self->replies_[stream];
  reply.closed = true;
  if (code != NGHTTP2_NO_ERROR && !reply.reset) {
    reply.reset = true;
    reply.resetCode = code;
  }
  self->uploads_.erase(stream);
  return 0;
}

ssize_t H2Client::readUpload(nghttp2_session* /*session*/, std::int32_t stream,
                             std::uint8_t* buffer, std::size_t length, std::uint32_t* flags,
                             nghttp2_data_source* /*source*/, void* user) {
  auto* self = static_cast<H2Client*>(user);
  auto found = self->uploads_.find(stream);
  if (found == self->uploads_.end()) {
    *flags |= NGHTTP2_DATA_FLAG_EOF;
    return 0;
  }
  Upload& upload = found->second;
  const std::size_t take = std::min(length, upload.data.size() - upload.offset);
  std::copy_n(upload.data.begin() + static_cast<std::ptrdiff_t>(upload.offset), take, buffer);
  upload.offset += take;
  if (upload.offset == upload.data.size()) {
    *flags |= NGHTTP2_DATA_FLAG_EOF;
  }
  return static_cast<ssize_t>(take);
}

}  // namespace kite::http::testing
