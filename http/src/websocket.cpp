#include "kite/http/websocket.h"

#include <openssl/evp.h>
#include <openssl/sha.h>

#include <array>
#include <utility>

#include "kite/http/server.h"
#include "tunnel_flow.h"

namespace kite::http {
namespace {

constexpr std::string_view kGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

bool isControl(std::uint8_t opcode) { return (opcode & 0x8U) != 0; }

}  // namespace

std::string webSocketAccept(std::string_view key) {
  std::string text(key);
  text.append(kGuid);
  std::array<unsigned char, SHA_DIGEST_LENGTH> digest{};
  SHA1(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest.data());
  std::array<unsigned char, 4 * ((SHA_DIGEST_LENGTH + 2) / 3) + 1> encoded{};
  const int length = EVP_EncodeBlock(encoded.data(), digest.data(), SHA_DIGEST_LENGTH);
  return {reinterpret_cast<const char*>(encoded.data()), static_cast<std::size_t>(length)};
}

std::string encodeWebSocketFrame(WebSocketOpcode opcode, std::string_view payload,
                                 std::optional<std::uint32_t> mask) {
  std::string frame;
  frame.reserve(payload.size() + 14);
  frame.push_back(static_cast<char>(0x80U | static_cast<std::uint8_t>(opcode)));
  const std::uint8_t maskBit = mask ? 0x80U : 0U;
  const std::uint64_t size = payload.size();
  if (size < 126) {
    frame.push_back(static_cast<char>(maskBit | size));
  } else if (size <= 0xFFFF) {
    frame.push_back(static_cast<char>(maskBit | 126U));
    frame.push_back(static_cast<char>((size >> 8U) & 0xFFU));
    frame.push_back(static_cast<char>(size & 0xFFU));
  } else {
    frame.push_back(static_cast<char>(maskBit | 127U));
    for (int shift = 56; shift >= 0; shift -= 8) {
      frame.push_back(static_cast<char>((size >> static_cast<unsigned>(shift)) & 0xFFU));
    }
  }
  if (!mask) {
    frame.append(payload);
    return frame;
  }
  std::array<char, 4> key{};
  for (std::size_t i = 0; i < 4; ++i) {
    key[i] = static_cast<char>((*mask >> (24U - 8U * i)) & 0xFFU);
    frame.push_back(key[i]);
  }
  for (std::size_t i = 0; i < payload.size(); ++i) {
    frame.push_back(static_cast<char>(payload[i] ^ key[i % 4]));
  }
  return frame;
}

std::vector<WebSocketMessage> WebSocketDecoder::feed(std::string_view bytes) {
  buffer_.append(bytes);
  std::vector<WebSocketMessage> messages;
  std::size_t at = 0;
  while (buffer_.size() - at >= 2) {
    const auto b0 = static_cast<std::uint8_t>(buffer_[at]);
    const auto b1 = static_cast<std::uint8_t>(buffer_[at + 1]);
    const bool fin = (b0 & 0x80U) != 0;
    const std::uint8_t opcode = b0 & 0x0FU;
    if ((b0 & 0x70U) != 0) {
      throw WebSocketError("websocket: reserved bits set (no extension was agreed)");
    }
    const bool masked = (b1 & 0x80U) != 0;
    std::uint64_t length = b1 & 0x7FU;
    std::size_t header = 2;
    if (length == 126) {
      if (buffer_.size() - at < 4) break;
      length = (static_cast<std::uint64_t>(static_cast<std::uint8_t>(buffer_[at + 2])) << 8U) |
               static_cast<std::uint8_t>(buffer_[at + 3]);
      header = 4;
    } else if (length == 127) {
      if (buffer_.size() - at < 10) break;
      length = 0;
      for (std::size_t i = 0; i < 8; ++i) {
        length = (length << 8U) | static_cast<std::uint8_t>(buffer_[at + 2 + i]);
      }
      header = 10;
    }
    if (length > maxMessageBytes_) {
      throw WebSocketError("websocket: frame of " + std::to_string(length) +
                           " bytes is above the limit");
    }
    if (isControl(opcode) && (length > 125 || !fin)) {
      throw WebSocketError("websocket: control frames must be short and unfragmented");
    }
    const std::size_t maskBytes = masked ? 4 : 0;
    if (buffer_.size() - at < header + maskBytes + length) break;
    std::string payload = buffer_.substr(at + header + maskBytes, length);
    if (masked) {
      const std::string_view key(buffer_.data() + at + header, 4);
      for (std::size_t i = 0; i < payload.size(); ++i) {
        payload[i] = static_cast<char>(payload[i] ^ key[i % 4]);
      }
    }
    at += header + maskBytes + length;
    if (isControl(opcode)) {
      if (opcode != 0x8 && opcode != 0x9 && opcode != 0xA) {
        throw WebSocketError("websocket: unknown control opcode " + std::to_string(opcode));
      }
      messages.push_back({static_cast<WebSocketOpcode>(opcode), std::move(payload)});
      continue;
    }
    if (opcode == 0x0) {
      if (!fragmented_) throw WebSocketError("websocket: continuation without a message");
      if (fragmented_->payload.size() + payload.size() > maxMessageBytes_) {
        throw WebSocketError("websocket: message above the limit");
      }
      fragmented_->payload.append(payload);
    } else if (opcode == 0x1 || opcode == 0x2) {
      if (fragmented_) throw WebSocketError("websocket: new message inside a fragmented one");
      fragmented_ = WebSocketMessage{static_cast<WebSocketOpcode>(opcode), std::move(payload)};
    } else {
      throw WebSocketError("websocket: unknown opcode " + std::to_string(opcode));
    }
    if (fin) {
      messages.push_back(std::move(*fragmented_));
      fragmented_.reset();
    }
  }
  buffer_.erase(0, at);
  return messages;
}

void pipeWebSocketToRaw(const std::shared_ptr<Tunnel>& websocket,
                        const std::shared_ptr<Tunnel>& raw, RelayBounds bounds) {
  // As in pipeTunnels, each side's callbacks hold the relay, and through it the other side,
  // until that side ends; the drained callbacks hold it weakly. Pongs and close frames count
  // toward the WebSocket side's queue like the data they follow.
  struct Relay {
    Relay(const std::shared_ptr<Tunnel>& websocket, const std::shared_ptr<Tunnel>& raw,
          RelayBounds bounds)
        : toWebSocket(raw, websocket, bounds), toRaw(websocket, raw, bounds) {}
    WebSocketDecoder decoder;        // the WebSocket side's data callback only
    detail::RelayValve toWebSocket;  // reads raw unless the WebSocket client is behind
    detail::RelayValve toRaw;        // reads the WebSocket client unless raw is behind
  };
  auto relay = std::make_shared<Relay>(websocket, raw, bounds);
  const std::weak_ptr<Relay> weak = relay;
  websocket->onDrained(bounds.lowWater, [weak] {
    if (auto alive = weak.lock()) alive->toWebSocket.update();
  });
  raw->onDrained(bounds.lowWater, [weak] {
    if (auto alive = weak.lock()) alive->toRaw.update();
  });
  websocket->start(
      [relay, websocket = std::weak_ptr<Tunnel>(websocket), raw](const std::string& data) {
        const auto ws = websocket.lock();
        std::vector<WebSocketMessage> messages;
        try {
          messages = relay->decoder.feed(data);
        } catch (const WebSocketError&) {
          if (ws) {
            ws->write(encodeWebSocketFrame(WebSocketOpcode::kClose, std::string("\x03\xea", 2)));
            ws->close();
          }
          raw->close();
          return;
        }
        for (auto& message : messages) {
          switch (message.opcode) {
            case WebSocketOpcode::kBinary:
            case WebSocketOpcode::kText:
              raw->write(std::move(message.payload));
              break;
            case WebSocketOpcode::kPing:
              if (ws) ws->write(encodeWebSocketFrame(WebSocketOpcode::kPong, message.payload));
              break;
            case WebSocketOpcode::kClose:
              if (ws) {
                ws->write(
                    encodeWebSocketFrame(WebSocketOpcode::kClose, message.payload.substr(0, 2)));
                ws->close();
              }
              raw->close();
              return;
            default:
              break;
          }
        }
        relay->toRaw.update();
      },
      [raw] { raw->close(); });
  raw->start(
      [relay, websocket](const std::string& data) {
        websocket->write(encodeWebSocketFrame(WebSocketOpcode::kBinary, data));
        relay->toWebSocket.update();
      },
      [websocket] {
        websocket->write(encodeWebSocketFrame(WebSocketOpcode::kClose, std::string("\x03\xe8", 2)));
        websocket->close();
      });
}

std::vector<std::string> webSocketProtocols(std::string_view header) {
  std::vector<std::string> protocols;
  std::size_t at = 0;
  while (at <= header.size()) {
    auto end = header.find(',', at);
    if (end == std::string_view::npos) end = header.size();
    std::string_view item = header.substr(at, end - at);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    if (!item.empty()) protocols.emplace_back(item);
    at = end + 1;
  }
  return protocols;
}

}  // namespace kite::http
