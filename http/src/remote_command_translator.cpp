#include "kite/http/remote_command_translator.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cstdlib>
#include <utility>

namespace kite::http {
namespace {

// Client data goes out in DATA frames of at most this size.
constexpr std::size_t kDataChunk = std::size_t{32} * 1024;
// Received bytes are given back to the runtime's send window once this many accumulate
// (half of SPDY/3.1's default 64 KiB window).

constexpr std::uint16_t kCloseNormal = 1000;
constexpr std::uint16_t kCloseProtocolError = 1002;

std::string closePayload(std::uint16_t code) {
  return {static_cast<char>(code >> 8U), static_cast<char>(code & 0xFFU)};
}

std::string jsonString(std::string_view text) {
  std::string out = "\"";
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (u < 0x20) {
      static constexpr char kHex[] = "0123456789abcdef";
      out.append("\\u00");
      out.push_back(kHex[u >> 4U]);
      out.push_back(kHex[u & 15U]);
    } else {
      out.push_back(c);
    }
  }
  out.push_back('"');
  return out;
}

std::string encodeBase64(std::string_view data) {
  std::string out(4 * ((data.size() + 2) / 3) + 1, '\0');
  const int size = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                   reinterpret_cast<const unsigned char*>(data.data()),
                                   static_cast<int>(data.size()));
  out.resize(static_cast<std::size_t>(size));
  return out;
}

std::optional<std::string> decodeBase64(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  if (text.empty()) return std::string();
  std::string out(3 * (text.size() / 4), '\0');
  const int size = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                   reinterpret_cast<const unsigned char*>(text.data()),
                                   static_cast<int>(text.size()));
  if (size < 0) return std::nullopt;
  // EVP_DecodeBlock counts the padding as zero bytes.
  std::size_t padding = 0;
  while (padding < 2 && text[text.size() - 1 - padding] == '=') ++padding;
  out.resize(static_cast<std::size_t>(size) - padding);
  return out;
}

// The text of a JSON string value starting at `at` (just past its opening quote); the common
// escapes are decoded, \u only for ASCII.
std::string jsonStringAt(std::string_view json, std::size_t at) {
  std::string out;
  for (std::size_t i = at; i < json.size(); ++i) {
    const char c = json[i];
    if (c == '"') break;
    if (c != '\\' || i + 1 >= json.size()) {
      out.push_back(c);
      continue;
    }
    const char e = json[++i];
    switch (e) {
      case 'n':
        out.push_back('\n');
        break;
      case 't':
        out.push_back('\t');
        break;
      case 'r':
        out.push_back('\r');
        break;
      case 'u':
        if (i + 4 < json.size()) {
          const unsigned long code =
              std::strtoul(std::string(json.substr(i + 1, 4)).c_str(), nullptr, 16);
          out.push_back(code < 0x80 ? static_cast<char>(code) : '?');
          i += 4;
        }
        break;
      default:
        out.push_back(e);  // \" \\ \/
        break;
    }
  }
  return out;
}

// The value of a top-level string field of a metav1.Status ("status", "message"): the first
// occurrence, which in the kubelet's (Go's) field order is the top-level one.
std::string statusField(std::string_view json, std::string_view name) {
  const std::string key = "\"" + std::string(name) + "\"";
  std::size_t at = json.find(key);
  if (at == std::string_view::npos) return "";
  at += key.size();
  while (at < json.size() && (json[at] == ' ' || json[at] == ':')) ++at;
  if (at >= json.size() || json[at] != '"') return "";
  return jsonStringAt(json, at + 1);
}

}  // namespace

std::optional<ChannelProtocol> channelProtocolNamed(std::string_view name) {
  if (name == "v5.channel.k8s.io") return ChannelProtocol::kV5;
  if (name == "v4.channel.k8s.io") return ChannelProtocol::kV4;
  if (name == "v4.base64.channel.k8s.io") return ChannelProtocol::kV4Base64;
  if (name == "channel.k8s.io") return ChannelProtocol::kV1;
  if (name == "base64.channel.k8s.io") return ChannelProtocol::kV1Base64;
  return std::nullopt;
}

bool RemoteCommandTranslator::base64() const {
  return streams_.protocol == ChannelProtocol::kV4Base64 ||
         streams_.protocol == ChannelProtocol::kV1Base64;
}

bool RemoteCommandTranslator::plainStatus() const {
  return streams_.protocol == ChannelProtocol::kV1 ||
         streams_.protocol == ChannelProtocol::kV1Base64;
}

RemoteCommandTranslator::RemoteCommandTranslator(RemoteCommandStreams streams)
    : streams_(streams) {}

void RemoteCommandTranslator::openStream(Output& out, RemoteCommandChannel channel,
                                         std::string_view type) {
  const std::uint32_t id = nextId_;
  nextId_ += 2;
  byId_[id].channel = channel;
  idOf_[channel] = id;
  SpdyFrame syn;
  syn.type = SpdyFrameType::kSynStream;
  syn.streamId = id;
  syn.payload = compressor_.compress({{"streamtype", std::string(type)}});
  out.toRuntime += encodeSpdyFrame(syn);
}

RemoteCommandTranslator::Output RemoteCommandTranslator::start() {
  Output out;
  // The order kubectl's own SPDY client uses; the server waits for the set it expects
  // (error always; stdin, stdout, stderr as asked; resize with a terminal).
  openStream(out, RemoteCommandChannel::kError, "error");
  if (streams_.input) openStream(out, RemoteCommandChannel::kStdin, "stdin");
  if (streams_.output) openStream(out, RemoteCommandChannel::kStdout, "stdout");
  if (streams_.error && !streams_.tty) {
    openStream(out, RemoteCommandChannel::kStderr, "stderr");
  }
  if (streams_.tty) openStream(out, RemoteCommandChannel::kResize, "resize");
  // As the Kubernetes WebSocket servers do: an empty message on the first output channel
  // tells the client the session is up (some clients wait for it; kubectl ignores it).
  if (streams_.output || (streams_.error && !streams_.tty)) {
    const auto first =
        streams_.output ? RemoteCommandChannel::kStdout : RemoteCommandChannel::kStderr;
    out.toClient += base64() ? encodeWebSocketFrame(
                                   WebSocketOpcode::kText,
                                   std::string(1, static_cast<char>('0' + static_cast<int>(first))))
                             : encodeWebSocketFrame(WebSocketOpcode::kBinary,
                                                    std::string(1, static_cast<char>(first)));
  }
  return out;
}

RemoteCommandTranslator::Output RemoteCommandTranslator::fromClient(std::string_view bytes) {
  Output out;
  if (finished_) return out;
  std::vector<WebSocketMessage> messages;
  try {
    messages = clientDecoder_.feed(bytes);
  } catch (const WebSocketError&) {
    finish(out, kCloseProtocolError);
    return out;
  }
  for (const auto& message : messages) {
    if (finished_) break;
    switch (message.opcode) {
      case WebSocketOpcode::kPing: {
        out.toClient += encodeWebSocketFrame(WebSocketOpcode::kPong, message.payload);
        // kubectl pings every few seconds: a ping the same way keeps the hops toward the
        // runtime from timing out an idle terminal.
        SpdyFrame ping;
        ping.type = SpdyFrameType::kPing;
        ping.value = nextPingId_;
        nextPingId_ = nextPingId_ >= 0x7FFFFFFDU ? 1 : nextPingId_ + 2;
        out.toRuntime += encodeSpdyFrame(ping);
        break;
      }
      case WebSocketOpcode::kClose:
        // The client is gone (it detached, or was interrupted): end the command's session.
        finished_ = true;
        out.toClient += encodeWebSocketFrame(WebSocketOpcode::kClose, message.payload.substr(0, 2));
        out.closeClient = true;
        out.closeRuntime = true;
        break;
      case WebSocketOpcode::kBinary:
      case WebSocketOpcode::kText:
        clientMessage(out, message);
        break;
      default:
        break;
    }
  }
  return out;
}

void RemoteCommandTranslator::clientMessage(Output& out, const WebSocketMessage& message) {
  if (message.payload.empty()) return;
  auto channel = static_cast<RemoteCommandChannel>(message.payload[0]);
  std::string_view data = std::string_view(message.payload).substr(1);
  std::optional<std::string> decoded;
  if (base64()) {
    // "<digit><base64>"; the kubelet's WebSocket server ends the session on anything else.
    const char digit = message.payload[0];
    decoded = decodeBase64(data);
    if (digit < '0' || digit > '9' || !decoded) {
      finish(out, kCloseProtocolError);
      return;
    }
    channel = static_cast<RemoteCommandChannel>(digit - '0');
    data = *decoded;
  }
  switch (channel) {
    case RemoteCommandChannel::kStdin:
    case RemoteCommandChannel::kResize:
      sendToStream(out, channel, data);
      break;
    case RemoteCommandChannel::kClose: {
      if (data.empty()) return;
      const auto closed = static_cast<RemoteCommandChannel>(data[0]);
      if (closed != RemoteCommandChannel::kStdin && closed != RemoteCommandChannel::kResize) {
        return;  // the client closing an output channel changes nothing on the SPDY side
      }
      const auto it = idOf_.find(closed);
      if (it != idOf_.end()) finishStream(out, it->second, byId_[it->second]);
      break;
    }
    default:
      break;  // stdout, stderr and error flow the other way: nothing to forward
  }
}

std::size_t RemoteCommandTranslator::heldForRuntime() const {
  std::size_t held = 0;
  for (const auto& [id, stream] : byId_) held += stream.pending.size();
  return held;
}

void RemoteCommandTranslator::sendToStream(Output& out, RemoteCommandChannel channel,
                                           std::string_view data) {
  const auto it = idOf_.find(channel);
  if (it == idOf_.end() || data.empty()) return;
  auto& stream = byId_[it->second];
  if (stream.localFin || stream.remoteEnded || stream.wantFin) return;
  if (!stream.replied) {
    stream.pending.append(data);
    return;
  }
  for (std::size_t at = 0; at < data.size(); at += kDataChunk) {
    SpdyFrame frame;
    frame.streamId = it->second;
    frame.payload = data.substr(at, kDataChunk);
    out.toRuntime += encodeSpdyFrame(frame);
  }
}

void RemoteCommandTranslator::finishStream(Output& out, std::uint32_t id, Stream& stream) {
  if (stream.localFin || stream.remoteEnded) return;
  if (!stream.replied) {
    stream.wantFin = true;
    return;
  }
  SpdyFrame frame;
  frame.streamId = id;
  frame.flags = kSpdyFlagFin;
  out.toRuntime += encodeSpdyFrame(frame);
  stream.localFin = true;
}

RemoteCommandTranslator::Output RemoteCommandTranslator::fromRuntime(std::string_view bytes) {
  Output out;
  if (finished_) return out;
  try {
    for (auto& frame : runtimeDecoder_.feed(bytes)) {
      if (finished_) break;
      runtimeFrame(out, frame);
    }
  } catch (const SpdyError& e) {
    fail(out, std::string("the kubelet's SPDY stream broke: ") + e.what());
  }
  return out;
}

void RemoteCommandTranslator::runtimeFrame(Output& out, SpdyFrame& frame) {
  switch (frame.type) {
    case SpdyFrameType::kData:
      runtimeData(out, frame);
      return;
    case SpdyFrameType::kSynReply:
    case SpdyFrameType::kHeaders: {
      // Decoded even when nothing in it matters: the zlib context must see every block.
      decompressor_.decompress(frame.payload);
      const auto it = byId_.find(frame.streamId);
      if (it == byId_.end()) return;
      auto& stream = it->second;
      if (frame.type == SpdyFrameType::kSynReply && !stream.replied) {
        stream.replied = true;
        const std::string pending = std::exchange(stream.pending, {});
        const bool fin = std::exchange(stream.wantFin, false);
        sendToStream(out, stream.channel, pending);
        if (fin) finishStream(out, frame.streamId, stream);
      }
      if (frame.fin()) {
        stream.remoteEnded = true;
        if (stream.channel == RemoteCommandChannel::kError) finish(out, kCloseNormal);
      }
      return;
    }
    case SpdyFrameType::kSynStream: {
      decompressor_.decompress(frame.payload);
      // remotecommand has no server-initiated streams.
      SpdyFrame refuse;
      refuse.type = SpdyFrameType::kRstStream;
      refuse.streamId = frame.streamId;
      refuse.value = static_cast<std::uint32_t>(SpdyRstStatus::kRefusedStream);
      out.toRuntime += encodeSpdyFrame(refuse);
      return;
    }
    case SpdyFrameType::kRstStream: {
      const auto it = byId_.find(frame.streamId);
      if (it == byId_.end()) return;
      it->second.remoteEnded = true;
      it->second.pending.clear();
      // The runtime resets every stream when the command is over, right after the status.
      if (it->second.channel == RemoteCommandChannel::kError) finish(out, kCloseNormal);
      return;
    }
    case SpdyFrameType::kPing:
      if (frame.value % 2 == 0) {  // the server's ping (ours are odd): echo it
        out.toRuntime += encodeSpdyFrame(frame);
      }
      return;
    case SpdyFrameType::kGoAway:
      finish(out, kCloseNormal);
      return;
    case SpdyFrameType::kSettings:
    case SpdyFrameType::kWindowUpdate:
      // The send window is not enforced: the Kubernetes SPDY servers (Go's spdystream)
      // never grant window, so a sender that waited for WINDOW_UPDATE would stall after
      // 64 KiB of stdin, and kubectl's own SPDY client does not wait either.
      return;
  }
}

void RemoteCommandTranslator::runtimeData(Output& out, const SpdyFrame& frame) {
  const auto it = byId_.find(frame.streamId);
  if (it == byId_.end()) return;
  auto& stream = it->second;
  const auto size = static_cast<std::uint32_t>(frame.payload.size());
  // No WINDOW_UPDATE goes back, as kubectl's own SPDY client sends none: the Kubernetes SPDY
  // servers (Go's spdystream) keep no send window. Updates in flight when the runtime closes
  // its end after the exit status made its kernel answer with a reset, which could discard
  // the status before it was read ("ended before the command's exit status arrived").
  switch (stream.channel) {
    case RemoteCommandChannel::kStdout:
    case RemoteCommandChannel::kStderr:
      toChannel(out, stream.channel, frame.payload);
      break;
    case RemoteCommandChannel::kError:
      if (size > 0) errorSeen_ = true;
      statusToClient(out, frame.payload);
      break;
    default:
      break;
  }
  if (frame.fin()) {
    stream.remoteEnded = true;
    if (stream.channel == RemoteCommandChannel::kError) finish(out, kCloseNormal);
  }
}

void RemoteCommandTranslator::toChannel(Output& out, RemoteCommandChannel channel,
                                        std::string_view data) {
  if (data.empty()) return;
  if (base64()) {
    std::string message(1, static_cast<char>('0' + static_cast<int>(channel)));
    message.append(encodeBase64(data));
    out.toClient += encodeWebSocketFrame(WebSocketOpcode::kText, message);
    return;
  }
  std::string message(1, static_cast<char>(channel));
  message.append(data);
  out.toClient += encodeWebSocketFrame(WebSocketOpcode::kBinary, message);
}

void RemoteCommandTranslator::statusToClient(Output& out, std::string_view data) {
  if (plainStatus()) {
    status_.append(data);  // sent as text by finish()
    return;
  }
  toChannel(out, RemoteCommandChannel::kError, data);
}

void RemoteCommandTranslator::fail(Output& out, std::string_view message) {
  if (finished_) return;
  if (!errorSeen_) {
    errorSeen_ = true;
    statusToClient(
        out, R"({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":)" +
                 jsonString(message) + R"(,"reason":"InternalError","code":500})");
  }
  finish(out, kCloseNormal);
}

void RemoteCommandTranslator::finish(Output& out, std::uint16_t closeCode) {
  if (finished_) return;
  if (!errorSeen_ && closeCode == kCloseNormal) {
    // The runtime ended without the command's status: say so rather than let the client
    // read an empty status as success.
    fail(out, "the connection to the kubelet ended before the command's exit status arrived");
    return;
  }
  finished_ = true;
  if (plainStatus() && !status_.empty() && statusField(status_, "status") != "Success") {
    toChannel(out, RemoteCommandChannel::kError, statusField(status_, "message"));
  }
  out.toClient += encodeWebSocketFrame(WebSocketOpcode::kClose, closePayload(closeCode));
  SpdyFrame goAway;
  goAway.type = SpdyFrameType::kGoAway;
  out.toRuntime += encodeSpdyFrame(goAway);
  out.closeClient = true;
  out.closeRuntime = true;
}

RemoteCommandTranslator::Output RemoteCommandTranslator::clientClosed() {
  Output out;
  if (finished_) return out;
  finished_ = true;
  SpdyFrame goAway;
  goAway.type = SpdyFrameType::kGoAway;
  out.toRuntime += encodeSpdyFrame(goAway);
  out.closeClient = true;
  out.closeRuntime = true;
  return out;
}

RemoteCommandTranslator::Output RemoteCommandTranslator::runtimeClosed() {
  Output out;
  finish(out, kCloseNormal);
  return out;
}

}  // namespace kite::http
