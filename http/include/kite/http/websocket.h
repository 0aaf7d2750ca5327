#pragma once
// WebSocket (RFC 6455) pieces for upgraded connections: the handshake answer and the framing,
// enough for protocols that carry bytes in binary messages (kubectl port-forward's
// "SPDY/3.1+portforward.k8s.io" tunnel).

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "kite/http/relay_bounds.h"

namespace kite::http {

enum class WebSocketOpcode : std::uint8_t {
  kContinuation = 0x0,
  kText = 0x1,
  kBinary = 0x2,
  kClose = 0x8,
  kPing = 0x9,
  kPong = 0xA,
};

struct WebSocketMessage {
  WebSocketOpcode opcode = WebSocketOpcode::kBinary;  // never kContinuation: fragments joined
  std::string payload;
};

// A malformed or oversized frame; the connection cannot go on.
class WebSocketError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Sec-WebSocket-Accept for a Sec-WebSocket-Key: base64(SHA-1(key + the RFC's GUID)).
std::string webSocketAccept(std::string_view key);

// One frame, FIN set. A server sends unmasked frames; a client passes a masking key.
std::string encodeWebSocketFrame(WebSocketOpcode opcode, std::string_view payload,
                                 std::optional<std::uint32_t> mask = std::nullopt);

// Turns received bytes into whole messages: unmasks, joins fragments, answers nothing itself
// (the caller answers pings and closes). Throws WebSocketError on a protocol error or a
// message above maxMessageBytes.
class WebSocketDecoder {
 public:
  explicit WebSocketDecoder(std::size_t maxMessageBytes = std::size_t{16} * 1024 * 1024)
      : maxMessageBytes_(maxMessageBytes) {}
  std::vector<WebSocketMessage> feed(std::string_view bytes);

 private:
  const std::size_t maxMessageBytes_;
  std::string buffer_;
  std::optional<WebSocketMessage> fragmented_;  // a message whose last fragment is to come
};

class Tunnel;
// Pipes a WebSocket connection (the server side of an upgraded tunnel) to a raw byte stream:
// binary (and text) message payloads go to `raw` as they are, bytes from `raw` go back as
// binary messages. Pings are answered; a close from either side closes both. Bounded as
// pipeTunnels is (client.h): a side is not read while more than bounds.highWater bytes wait to
// be sent to the other; a message being joined from fragments is held up to the decoder's
// message limit besides.
void pipeWebSocketToRaw(const std::shared_ptr<Tunnel>& websocket,
                        const std::shared_ptr<Tunnel>& raw, RelayBounds bounds = {});

// The protocols a client offers in Sec-WebSocket-Protocol (comma-separated, trimmed).
std::vector<std::string> webSocketProtocols(std::string_view header);

}  // namespace kite::http
