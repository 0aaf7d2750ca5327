#pragma once
// A small blocking HTTP/2 client for the tests, on libnghttp2 over TlsClient (ALPN "h2"): it
// opens streams, resets them, and exchanges frames until a condition holds. It can also play
// a slow reader: without automatic window updates it never opens a stream's flow-control
// window again (the connection's window it still opens, so other streams go on).

#include <nghttp2/nghttp2.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tls_client.h"

namespace kite::http::testing {

struct H2Reply {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  bool ended = false;   // END_STREAM received
  bool closed = false;  // the stream is over, whichever way
  bool reset = false;   // closed by RST_STREAM (either side)
  std::uint32_t resetCode = 0;
  std::optional<std::string> header(std::string_view name) const;
};

struct H2Options {
  bool autoWindowUpdate = true;
  std::size_t maxSendHeaderBlock = std::size_t{64} * 1024;
};

class H2Client {
 public:
  // Throws std::runtime_error when the connection fails or ALPN did not pick h2.
  H2Client(std::uint16_t port, const ClientTls& tls, H2Options options = {});
  ~H2Client();
  H2Client(const H2Client&) = delete;
  H2Client& operator=(const H2Client&) = delete;

  // Opens a stream (sent on the next run); returns its id.
  std::int32_t submit(const std::string& method, const std::string& path,
                      const std::vector<std::pair<std::string, std::string>>& headers = {},
                      std::optional<std::string> body = std::nullopt);
  void reset(std::int32_t stream, std::uint32_t code = NGHTTP2_CANCEL);
  const H2Reply& reply(std::int32_t stream) { return replies_[stream]; }

  // Exchanges frames until done() holds: true then; false when the connection ended first
  // (or nothing arrived within the socket timeout).
  bool runUntil(const std::function<bool()>& done);
  // submit() and run until the stream is over.
  H2Reply fetch(const std::string& method, const std::string& path,
                const std::vector<std::pair<std::string, std::string>>& headers = {},
                std::optional<std::string> body = std::nullopt);

  bool goAwayReceived() const { return goAway_; }
  std::uint32_t goAwayCode() const { return goAwayCode_; }
  bool ended() const { return ended_; }
  std::uint32_t peerMaxConcurrentStreams() const;

 private:
  struct Upload {
    std::string data;
    std::size_t offset = 0;
  };
  static int onHeader(nghttp2_session* session, const nghttp2_frame* frame,
                      const std::uint8_t* name, std::size_t nameLength, const std::uint8_t* value,
                      std::size_t valueLength, std::uint8_t flags, void* user);
  static int onData(nghttp2_session* session, std::uint8_t flags, std::int32_t stream,
                    const std::uint8_t* data, std::size_t length, void* user);
  static int onFrame(nghttp2_session* session, const nghttp2_frame* frame, void* user);
  static int onClose(nghttp2_session* session, std::int32_t stream, std::uint32_t code, void* user);
  static ssize_t readUpload(nghttp2_session* session, std::int32_t stream, std::uint8_t* buffer,
                            std::size_t length, std::uint32_t* flags, nghttp2_data_source* source,
                            void* user);
  void sendPending();

  H2Options options_;
  std::unique_ptr<TlsClient> tls_;
  nghttp2_session* session_ = nullptr;
  std::map<std::int32_t, H2Reply> replies_;
  std::map<std::int32_t, Upload> uploads_;
  bool goAway_ = false;
  std::uint32_t goAwayCode_ = 0;
  bool ended_ = false;
};

}  // namespace kite::http::testing
