#pragma once
// SPDY/3.1 framing (the wire format of draft 3.1): the control and data frames that
// Kubernetes' streaming protocols (remotecommand, portforward) run over. Header blocks stay
// compressed here; spdy_header_block.h turns them into names and values, since the zlib state
// belongs to the connection, not the frame.

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace kite::http {

enum class SpdyFrameType : std::uint16_t {
  kData = 0,  // not a control frame type: marks DATA frames in SpdyFrame
  kSynStream = 1,
  kSynReply = 2,
  kRstStream = 3,
  kSettings = 4,
  kPing = 6,
  kGoAway = 7,
  kHeaders = 8,
  kWindowUpdate = 9,
};

inline constexpr std::uint8_t kSpdyFlagFin = 0x01;
inline constexpr std::uint8_t kSpdyFlagUnidirectional = 0x02;  // SYN_STREAM only
inline constexpr std::uint16_t kSpdyVersion = 3;
inline constexpr std::size_t kSpdyMaxFrameLength = (std::size_t{1} << 24U) - 1;

// RST_STREAM status codes.
enum class SpdyRstStatus : std::uint32_t {
  kProtocolError = 1,
  kInvalidStream = 2,
  kRefusedStream = 3,
  kCancel = 5,
  kInternalError = 6,
  kFlowControlError = 7,
};

// One frame with its fields unpacked. Which fields mean something depends on the type:
//   DATA           streamId, flags, payload (the data)
//   SYN_STREAM     streamId, value (associated-to stream id), priority, flags, payload (block)
//   SYN_REPLY      streamId, flags, payload (compressed header block)
//   HEADERS        streamId, flags, payload (compressed header block)
//   RST_STREAM     streamId, value (status)
//   SETTINGS       flags, payload (the entries, raw)
//   PING           value (the ping id)
//   GOAWAY         streamId (last good stream id), value (status)
//   WINDOW_UPDATE  streamId (0: the connection's window), value (delta)
struct SpdyFrame {
  SpdyFrameType type = SpdyFrameType::kData;
  std::uint8_t flags = 0;
  std::uint32_t streamId = 0;
  std::uint32_t value = 0;
  std::uint8_t priority = 0;  // 0 (highest) to 7
  std::string payload;

  bool fin() const { return (flags & kSpdyFlagFin) != 0; }
};

// A frame that breaks the protocol (wrong version, short payload, stream id 0 where one is
// needed, an undecodable header block); the session cannot go on.
class SpdyError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The frame's bytes. Throws SpdyError when a field does not fit (payload above 2^24-1 bytes,
// stream id above 2^31-1).
std::string encodeSpdyFrame(const SpdyFrame& frame);

// Turns received bytes into frames, whatever way they were split. Control frame types it does
// not know are skipped (the spec asks receivers to ignore them). Throws SpdyError on a
// malformed frame or one above maxFrameLength.
class SpdyFrameDecoder {
 public:
  explicit SpdyFrameDecoder(std::size_t maxFrameLength = kSpdyMaxFrameLength)
      : maxFrameLength_(maxFrameLength) {}
  std::vector<SpdyFrame> feed(std::string_view bytes);

 private:
  const std::size_t maxFrameLength_;
  std::string buffer_;
};

}  // namespace kite::http
