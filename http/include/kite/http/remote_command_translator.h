#pragma once
// Translates Kubernetes' WebSocket remotecommand protocol (v5.channel.k8s.io, or v4, from
// kubectl exec/attach) into the SPDY/3.1 remotecommand protocol v4.channel.k8s.io (toward a
// kubelet, and on through it to the runtime's streaming server), as the Kubernetes API
// server's "stream translator" does: the kubelets and CRI streaming servers of today speak
// only SPDY for exec and attach.
//
// WebSocket side: every binary message starts with a channel byte: 0 stdin, 1 stdout,
// 2 stderr, 3 error (a JSON metav1.Status), 4 resize (JSON {"Width","Height"}); in v5 a
// message [255, N] says the client closed channel N (stdin's end of file). The base64 and v1
// variants (ChannelProtocol) are spoken too, as the kubelet's WebSocket server speaks them.
// SPDY side: one client-initiated stream per channel, named by its "streamtype" header
// (error, stdin, stdout, stderr, resize); stdin's end is the stream's FIN.
//
// A state machine without I/O: each call returns the bytes to send each way and whether to
// close. Not thread-safe: the caller serialises calls (remote_command_pipe.h does).

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "kite/http/spdy_frame.h"
#include "kite/http/spdy_header_block.h"
#include "kite/http/websocket.h"

namespace kite::http {

// The client's WebSocket subprotocol. The base64 ones carry each message as text: the
// channel as an ASCII digit, then the data in base64. The v1 ones (channel.k8s.io and
// base64.channel.k8s.io) predate the JSON status: the error channel carries a failure's
// message as plain text and nothing on success.
enum class ChannelProtocol : std::uint8_t {
  kV5,        // v5.channel.k8s.io: v4 plus [255, N] closing channel N
  kV4,        // v4.channel.k8s.io
  kV4Base64,  // v4.base64.channel.k8s.io
  kV1,        // channel.k8s.io
  kV1Base64,  // base64.channel.k8s.io
};

// The protocol a Sec-WebSocket-Protocol name stands for; nullopt when it is none of them.
std::optional<ChannelProtocol> channelProtocolNamed(std::string_view name);

// What the client asked for (the request's stdin, stdout, stderr and tty parameters).
// (Not named stdin/stdout/stderr: those are macros in <cstdio>.)
struct RemoteCommandStreams {
  bool input = false;
  bool output = false;
  bool error = false;  // stderr; ignored with tty: a terminal has one output, as in the kubelet
  bool tty = false;
  ChannelProtocol protocol = ChannelProtocol::kV5;
};

// The remotecommand channel numbers.
enum class RemoteCommandChannel : std::uint8_t {
  kStdin = 0,
  kStdout = 1,
  kStderr = 2,
  kError = 3,
  kResize = 4,
  kClose = 255,  // v5: [255, channel] closes that channel
};

class RemoteCommandTranslator {
 public:
  struct Output {
    std::string toClient;   // WebSocket frames (server side: unmasked)
    std::string toRuntime;  // SPDY frames
    bool closeClient = false;
    bool closeRuntime = false;
  };

  explicit RemoteCommandTranslator(RemoteCommandStreams streams);

  // The SYN_STREAMs that open the session; call once, first.
  Output start();
  // Bytes the WebSocket client sent.
  Output fromClient(std::string_view bytes);
  // Bytes the SPDY server sent.
  Output fromRuntime(std::string_view bytes);
  // The client's or the runtime's connection ended.
  Output clientClosed();
  Output runtimeClosed();

  bool finished() const { return finished_; }
  // Client bytes held until their SPDY stream is replied to (counted toward the pipe's bound).
  std::size_t heldForRuntime() const;

 private:
  struct Stream {
    RemoteCommandChannel channel = RemoteCommandChannel::kError;
    bool replied = false;      // SYN_REPLY seen: data may flow (Go's SPDY drops data before)
    bool localFin = false;     // we sent FIN
    bool remoteEnded = false;  // FIN or RST from the runtime
    bool wantFin = false;      // client closed it before the reply: FIN once replied
    std::string pending;       // client data waiting for the reply
  };

  void openStream(Output& out, RemoteCommandChannel channel, std::string_view type);
  void clientMessage(Output& out, const WebSocketMessage& message);
  void sendToStream(Output& out, RemoteCommandChannel channel, std::string_view data);
  void finishStream(Output& out, std::uint32_t id, Stream& stream);
  void runtimeFrame(Output& out, SpdyFrame& frame);
  void runtimeData(Output& out, const SpdyFrame& frame);
  void toChannel(Output& out, RemoteCommandChannel channel, std::string_view data);
  // The command's status (JSON) toward the client: as it is, or kept for the v1 protocols,
  // which get it as text when the session ends.
  void statusToClient(Output& out, std::string_view data);
  bool base64() const;
  bool plainStatus() const;
  // Sends a Failure status on the error channel (when the runtime side broke) and ends.
  void fail(Output& out, std::string_view message);
  // Closes both sides: a WebSocket close frame to the client, GOAWAY to the runtime.
  void finish(Output& out, std::uint16_t closeCode);

  RemoteCommandStreams streams_;
  std::map<std::uint32_t, Stream> byId_;
  std::map<RemoteCommandChannel, std::uint32_t> idOf_;
  std::uint32_t nextId_ = 1;      // client-initiated SPDY streams are odd
  std::uint32_t nextPingId_ = 1;  // and so are client pings
  bool errorSeen_ = false;        // the runtime sent (part of) a status
  std::string status_;            // the status so far, for the v1 protocols
  bool finished_ = false;
  WebSocketDecoder clientDecoder_;
  SpdyFrameDecoder runtimeDecoder_;
  SpdyHeaderCompressor compressor_;
  SpdyHeaderDecompressor decompressor_;
};

}  // namespace kite::http
