#include "kite/http/spdy_frame.h"

#include <utility>

namespace kite::http {
namespace {

constexpr std::uint32_t kStreamIdMask = 0x7FFFFFFFU;

void put32(std::string& out, std::uint32_t value) {
  for (int shift = 24; shift >= 0; shift -= 8) {
    out.push_back(static_cast<char>((value >> static_cast<unsigned>(shift)) & 0xFFU));
  }
}

std::uint32_t get32(std::string_view bytes, std::size_t at) {
  std::uint32_t value = 0;
  for (std::size_t i = 0; i < 4; ++i) {
    value = (value << 8U) | static_cast<std::uint8_t>(bytes[at + i]);
  }
  return value;
}

std::uint32_t streamIdField(std::uint32_t id) {
  if (id > kStreamIdMask) {
    throw SpdyError("spdy: stream id " + std::to_string(id) + " does not fit in 31 bits");
  }
  return id;
}

// The payload of a control frame, from its fields.
std::string controlPayload(const SpdyFrame& frame) {
  std::string out;
  switch (frame.type) {
    case SpdyFrameType::kSynStream:
      put32(out, streamIdField(frame.streamId));
      put32(out, streamIdField(frame.value));
      out.push_back(static_cast<char>((frame.priority & 0x7U) << 5U));
      out.push_back('\0');  // credential slot: unused
      out.append(frame.payload);
      break;
    case SpdyFrameType::kSynReply:
    case SpdyFrameType::kHeaders:
      put32(out, streamIdField(frame.streamId));
      out.append(frame.payload);
      break;
    case SpdyFrameType::kRstStream:
    case SpdyFrameType::kGoAway:
      put32(out, streamIdField(frame.streamId));
      put32(out, frame.value);
      break;
    case SpdyFrameType::kWindowUpdate:
      put32(out, streamIdField(frame.streamId));
      put32(out, frame.value & kStreamIdMask);
      break;
    case SpdyFrameType::kPing:
      put32(out, frame.value);
      break;
    case SpdyFrameType::kSettings:
    case SpdyFrameType::kData:
      out = frame.payload;
      break;
  }
  return out;
}

void requireLength(std::string_view what, std::size_t length, std::size_t needed, bool exact) {
  if (length < needed || (exact && length != needed)) {
    throw SpdyError("spdy: " + std::string(what) + " frame has a payload of " +
                    std::to_string(length) + " bytes, " + (exact ? "" : "at least ") +
                    std::to_string(needed) + " expected");
  }
}

void requireStream(std::string_view what, std::uint32_t id) {
  if (id == 0) {
    throw SpdyError("spdy: " + std::string(what) + " frame for stream 0");
  }
}

// Fills the typed fields of a control frame from its payload; false for a type to skip.
bool parseControl(SpdyFrame& frame, std::uint16_t type, std::string_view payload) {
  const std::size_t n = payload.size();
  switch (type) {
    case 1:
      requireLength("SYN_STREAM", n, 10, false);
      frame.type = SpdyFrameType::kSynStream;
      frame.streamId = get32(payload, 0) & kStreamIdMask;
      frame.value = get32(payload, 4) & kStreamIdMask;
      frame.priority = static_cast<std::uint8_t>(static_cast<std::uint8_t>(payload[8]) >> 5U);
      frame.payload = payload.substr(10);
      requireStream("SYN_STREAM", frame.streamId);
      return true;
    case 2:
    case 8:
      requireLength(type == 2 ? "SYN_REPLY" : "HEADERS", n, 4, false);
      frame.type = type == 2 ? SpdyFrameType::kSynReply : SpdyFrameType::kHeaders;
      frame.streamId = get32(payload, 0) & kStreamIdMask;
      frame.payload = payload.substr(4);
      requireStream(type == 2 ? "SYN_REPLY" : "HEADERS", frame.streamId);
      return true;
    case 3:
      requireLength("RST_STREAM", n, 8, true);
      frame.type = SpdyFrameType::kRstStream;
      frame.streamId = get32(payload, 0) & kStreamIdMask;
      frame.value = get32(payload, 4);
      requireStream("RST_STREAM", frame.streamId);
      return true;
    case 4:
      requireLength("SETTINGS", n, 4, false);
      if (n != 4 + std::size_t{8} * get32(payload, 0)) {
        throw SpdyError("spdy: SETTINGS frame length does not match its entry count");
      }
      frame.type = SpdyFrameType::kSettings;
      frame.payload = payload;
      return true;
    case 6:
      requireLength("PING", n, 4, true);
      frame.type = SpdyFrameType::kPing;
      frame.value = get32(payload, 0);
      return true;
    case 7:
      requireLength("GOAWAY", n, 8, true);
      frame.type = SpdyFrameType::kGoAway;
      frame.streamId = get32(payload, 0) & kStreamIdMask;
      frame.value = get32(payload, 4);
      return true;
    case 9:
      requireLength("WINDOW_UPDATE", n, 8, true);
      frame.type = SpdyFrameType::kWindowUpdate;
      frame.streamId = get32(payload, 0) & kStreamIdMask;
      frame.value = get32(payload, 4) & kStreamIdMask;
      if (frame.value == 0) {
        throw SpdyError("spdy: WINDOW_UPDATE with a delta of 0");
      }
      return true;
    default:
      return false;  // NOOP (SPDY/2), CREDENTIAL, or newer: ignored as the spec asks
  }
}

}  // namespace

std::string encodeSpdyFrame(const SpdyFrame& frame) {
  const bool control = frame.type != SpdyFrameType::kData;
  const std::string payload = control ? controlPayload(frame) : std::string();
  const std::string_view body = control ? std::string_view(payload) : frame.payload;
  if (body.size() > kSpdyMaxFrameLength) {
    throw SpdyError("spdy: a frame payload of " + std::to_string(body.size()) +
                    " bytes is above 2^24-1");
  }
  std::string out;
  out.reserve(8 + body.size());
  if (control) {
    put32(out, 0x80000000U | (std::uint32_t{kSpdyVersion} << 16U) |
                   static_cast<std::uint16_t>(frame.type));
  } else {
    requireStream("DATA", frame.streamId);
    put32(out, streamIdField(frame.streamId));
  }
  put32(out, (std::uint32_t{frame.flags} << 24U) | static_cast<std::uint32_t>(body.size()));
  out.append(body);
  return out;
}

std::vector<SpdyFrame> SpdyFrameDecoder::feed(std::string_view bytes) {
  buffer_.append(bytes);
  std::vector<SpdyFrame> frames;
  std::size_t at = 0;
  while (buffer_.size() - at >= 8) {
    const std::uint32_t first = get32(buffer_, at);
    const std::uint32_t second = get32(buffer_, at + 4);
    const std::size_t length = second & 0xFFFFFFU;
    if (length > maxFrameLength_) {
      throw SpdyError("spdy: frame of " + std::to_string(length) + " bytes is above the limit");
    }
    const bool control = (first & 0x80000000U) != 0;
    if (control) {
      const auto version = static_cast<std::uint16_t>((first >> 16U) & 0x7FFFU);
      if (version != kSpdyVersion) {
        throw SpdyError("spdy: unsupported version " + std::to_string(version));
      }
    }
    if (buffer_.size() - at < 8 + length) break;
    const std::string_view payload(buffer_.data() + at + 8, length);
    at += 8 + length;
    SpdyFrame frame;
    frame.flags = static_cast<std::uint8_t>(second >> 24U);
    if (!control) {
      frame.streamId = first & kStreamIdMask;
      requireStream("DATA", frame.streamId);
      frame.payload = payload;
      frames.push_back(std::move(frame));
      continue;
    }
    if (parseControl(frame, static_cast<std::uint16_t>(first & 0xFFFFU), payload)) {
      frames.push_back(std::move(frame));
    }
  }
  buffer_.erase(0, at);
  return frames;
}

}  // namespace kite::http
