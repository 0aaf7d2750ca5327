// The WebSocket (v5.channel.k8s.io) to SPDY (v4.channel.k8s.io) remotecommand translator,
// driven from both ends: a client that sends masked WebSocket frames as kubectl does, and a
// runtime that answers in SPDY with its own header compression context.
#include "kite/http/remote_command_translator.h"

#include <gtest/gtest.h>

#include <random>

namespace kite::http {
namespace {

// A string from a literal with embedded NULs (its whole length but the terminator).
template <std::size_t N>
std::string bin(const char (&text)[N]) {
  return {text, N - 1};
}

using Output = RemoteCommandTranslator::Output;

std::string clientMessage(std::uint8_t channel, std::string_view data) {
  std::string payload(1, static_cast<char>(channel));
  payload.append(data);
  return encodeWebSocketFrame(WebSocketOpcode::kBinary, payload, 0x11223344U);
}

// The runtime's end: decodes what the translator sends, answers with real SPDY frames.
class FakeRuntime {
 public:
  struct Opened {
    std::uint32_t id;
    std::string type;
  };

  std::vector<SpdyFrame> read(const Output& out) {
    auto frames = decoder_.feed(out.toRuntime);
    for (const auto& f : frames) {
      if (f.type == SpdyFrameType::kSynStream) {
        const auto headers = decompressor_.decompress(f.payload);
        EXPECT_EQ(headers.size(), 1U);
        opened.push_back({f.streamId, headers.empty() ? "" : headers[0].second});
      }
    }
    return frames;
  }
  std::uint32_t idOf(std::string_view type) const {
    for (const auto& o : opened) {
      if (o.type == type) return o.id;
    }
    ADD_FAILURE() << "no " << type << " stream";
    return 0;
  }
  std::string replyAll() {
    std::string bytes;
    for (const auto& o : opened) bytes += reply(o.id);
    return bytes;
  }
  std::string reply(std::uint32_t id, std::uint8_t flags = 0) {
    SpdyFrame f;
    f.type = SpdyFrameType::kSynReply;
    f.streamId = id;
    f.flags = flags;
    f.payload = compressor_.compress({});
    return encodeSpdyFrame(f);
  }
  static std::string data(std::uint32_t id, std::string payload, std::uint8_t flags = 0) {
    SpdyFrame f;
    f.streamId = id;
    f.flags = flags;
    f.payload = std::move(payload);
    return encodeSpdyFrame(f);
  }
  static std::string control(SpdyFrameType type, std::uint32_t id, std::uint32_t value) {
    SpdyFrame f;
    f.type = type;
    f.streamId = id;
    f.value = value;
    return encodeSpdyFrame(f);
  }

  std::vector<Opened> opened;

 private:
  SpdyFrameDecoder decoder_;
  SpdyHeaderDecompressor decompressor_;
  SpdyHeaderCompressor compressor_;
};

std::vector<WebSocketMessage> toClient(WebSocketDecoder& decoder, const Output& out) {
  return decoder.feed(out.toClient);
}

constexpr char kSuccess[] = R"({"metadata":{},"status":"Success"})";

TEST(RemoteCommandTranslatorTest, OpensTheStreamsKubectlWouldInItsOrder) {
  {
    RemoteCommandTranslator translator({true, true, true, false});
    FakeRuntime runtime;
    runtime.read(translator.start());
    ASSERT_EQ(runtime.opened.size(), 4U);
    EXPECT_EQ(runtime.opened[0].type, "error");
    EXPECT_EQ(runtime.opened[1].type, "stdin");
    EXPECT_EQ(runtime.opened[2].type, "stdout");
    EXPECT_EQ(runtime.opened[3].type, "stderr");
    EXPECT_EQ(runtime.opened[0].id, 1U);
    EXPECT_EQ(runtime.opened[3].id, 7U);  // client-initiated: odd
  }
  {
    // A terminal: no stderr (one output, as the kubelet asks the runtime), a resize stream.
    RemoteCommandTranslator translator({true, true, true, true});
    FakeRuntime runtime;
    runtime.read(translator.start());
    ASSERT_EQ(runtime.opened.size(), 4U);
    EXPECT_EQ(runtime.opened[3].type, "resize");
    for (const auto& o : runtime.opened) EXPECT_NE(o.type, "stderr");
  }
  {
    RemoteCommandTranslator translator({false, true, false, false});
    FakeRuntime runtime;
    runtime.read(translator.start());
    ASSERT_EQ(runtime.opened.size(), 2U);
  }
}

TEST(RemoteCommandTranslatorTest, AnEmptyMessageOnTheFirstOutputSaysTheSessionIsUp) {
  for (const auto& [streams, channel] : std::vector<std::pair<RemoteCommandStreams, std::string>>{
           {{false, true, true, false}, "\x01"},
           {{false, false, true, false}, "\x02"},
           {{true, false, true, true}, ""}}) {  // a terminal has no stderr: no output at all
    RemoteCommandTranslator translator(streams);
    WebSocketDecoder client;
    const auto messages = toClient(client, translator.start());
    if (channel.empty()) {
      EXPECT_TRUE(messages.empty());
    } else {
      ASSERT_EQ(messages.size(), 1U);
      EXPECT_EQ(messages[0].payload, channel);
    }
  }
}

TEST(RemoteCommandTranslatorTest, ChannelsMapToStreamsBothWays) {
  RemoteCommandTranslator translator({true, true, true, true});
  FakeRuntime runtime;
  WebSocketDecoder client;
  runtime.read(translator.start());
  // Client data before the runtime replied waits: Go's SPDY drops data on unreplied streams.
  auto out = translator.fromClient(clientMessage(0, "early ") +
                                   clientMessage(4, R"({"Width":80,"Height":24})"));
  EXPECT_TRUE(runtime.read(out).empty());
  out = translator.fromRuntime(runtime.replyAll());
  auto frames = runtime.read(out);
  ASSERT_EQ(frames.size(), 2U);
  EXPECT_EQ(frames[0].streamId, runtime.idOf("stdin"));
  EXPECT_EQ(frames[0].payload, "early ");
  EXPECT_EQ(frames[1].streamId, runtime.idOf("resize"));
  EXPECT_EQ(frames[1].payload, R"({"Width":80,"Height":24})");

  out = translator.fromClient(clientMessage(0, "late"));
  frames = runtime.read(out);
  ASSERT_EQ(frames.size(), 1U);
  EXPECT_EQ(frames[0].payload, "late");

  // Runtime output comes out on the channel of its stream.
  out = translator.fromRuntime(FakeRuntime::data(runtime.idOf("stdout"), "out!"));
  auto messages = toClient(client, out);
  ASSERT_EQ(messages.size(), 1U);
  EXPECT_EQ(messages[0].opcode, WebSocketOpcode::kBinary);
  EXPECT_EQ(messages[0].payload, std::string("\x01out!"));
  // Channels the client has no business writing to are dropped.
  out = translator.fromClient(clientMessage(1, "x") + clientMessage(3, "y") + clientMessage(9, ""));
  EXPECT_TRUE(out.toRuntime.empty());
  EXPECT_FALSE(translator.finished());
}

TEST(RemoteCommandTranslatorTest, StdoutAndStderrStaySeparate) {
  RemoteCommandTranslator translator({false, true, true, false});
  FakeRuntime runtime;
  WebSocketDecoder client;
  runtime.read(translator.start());
  translator.fromRuntime(runtime.replyAll());
  auto out = translator.fromRuntime(FakeRuntime::data(runtime.idOf("stdout"), "o") +
                                    FakeRuntime::data(runtime.idOf("stderr"), "e"));
  const auto messages = toClient(client, out);
  ASSERT_EQ(messages.size(), 2U);
  EXPECT_EQ(messages[0].payload, "\x01o");
  EXPECT_EQ(messages[1].payload,
            "\x02"
            "e");
}

TEST(RemoteCommandTranslatorTest, StdinCloseBecomesTheStreamsFin) {
  RemoteCommandTranslator translator({true, true, false, false});
  FakeRuntime runtime;
  runtime.read(translator.start());
  // v5's close message arrives before the runtime replied: the FIN follows the reply and the
  // data that waited for it.
  auto out =
      translator.fromClient(clientMessage(0, "hi\n") + clientMessage(255, std::string(1, '\0')));
  EXPECT_TRUE(runtime.read(out).empty());
  out = translator.fromRuntime(runtime.replyAll());
  auto frames = runtime.read(out);
  ASSERT_EQ(frames.size(), 2U);
  EXPECT_EQ(frames[0].payload, "hi\n");
  EXPECT_FALSE(frames[0].fin());
  EXPECT_EQ(frames[1].streamId, runtime.idOf("stdin"));
  EXPECT_TRUE(frames[1].fin());
  EXPECT_TRUE(frames[1].payload.empty());
  // Nothing more goes on that stream, and a second close is a no-op.
  out = translator.fromClient(clientMessage(0, "after") + clientMessage(255, std::string(1, '\0')));
  EXPECT_TRUE(runtime.read(out).empty());
}

TEST(RemoteCommandTranslatorTest, StatusThenResetEndsTheSession) {
  RemoteCommandTranslator translator({false, true, true, false});
  FakeRuntime runtime;
  WebSocketDecoder client;
  runtime.read(translator.start());
  translator.fromRuntime(runtime.replyAll());
  const std::string status =
      R"({"metadata":{},"status":"Failure","message":"command terminated with non-zero exit code: exit status 3","reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"3"}]}})";
  // As the streaming server ends a command: output, the status, then every stream reset.
  auto out = translator.fromRuntime(
      FakeRuntime::data(runtime.idOf("stdout"), "last") +
      FakeRuntime::data(runtime.idOf("error"), status) +
      FakeRuntime::control(SpdyFrameType::kRstStream, runtime.idOf("stdout"), 5) +
      FakeRuntime::control(SpdyFrameType::kRstStream, runtime.idOf("error"), 5));
  const auto messages = toClient(client, out);
  ASSERT_EQ(messages.size(), 3U);
  EXPECT_EQ(messages[0].payload, "\x01last");
  EXPECT_EQ(messages[1].payload, "\x03" + status);
  EXPECT_EQ(messages[2].opcode, WebSocketOpcode::kClose);
  EXPECT_EQ(messages[2].payload, bin("\x03\xe8"));
  EXPECT_TRUE(out.closeClient);
  EXPECT_TRUE(out.closeRuntime);
  EXPECT_TRUE(translator.finished());
  const auto frames = runtime.read(out);
  ASSERT_FALSE(frames.empty());
  EXPECT_EQ(frames.back().type, SpdyFrameType::kGoAway);
  // Anything later is ignored.
  EXPECT_TRUE(
      translator.fromRuntime(FakeRuntime::data(runtime.idOf("stdout"), "x")).toClient.empty());
  EXPECT_TRUE(translator.runtimeClosed().toClient.empty());
}

TEST(RemoteCommandTranslatorTest, GoAwayOrConnectionEndAfterSuccessEndsCleanly) {
  for (const bool goAway : {true, false}) {
    RemoteCommandTranslator translator({false, true, false, false});
    FakeRuntime runtime;
    WebSocketDecoder client;
    runtime.read(translator.start());
    translator.fromRuntime(runtime.replyAll());
    auto out = translator.fromRuntime(FakeRuntime::data(runtime.idOf("error"), kSuccess));
    auto messages = toClient(client, out);
    ASSERT_EQ(messages.size(), 1U);
    out = goAway ? translator.fromRuntime(FakeRuntime::control(SpdyFrameType::kGoAway, 0, 0))
                 : translator.runtimeClosed();
    messages = toClient(client, out);
    ASSERT_EQ(messages.size(), 1U);
    EXPECT_EQ(messages[0].opcode, WebSocketOpcode::kClose);
    EXPECT_TRUE(out.closeClient);
  }
}

TEST(RemoteCommandTranslatorTest, AnEndWithoutStatusIsReportedAsAFailure) {
  RemoteCommandTranslator translator({false, true, false, false});
  FakeRuntime runtime;
  WebSocketDecoder client;
  runtime.read(translator.start());
  translator.fromRuntime(runtime.replyAll());
  const auto out = translator.runtimeClosed();
  const auto messages = toClient(client, out);
  ASSERT_EQ(messages.size(), 2U);
  EXPECT_EQ(messages[0].payload.substr(0, 1), "\x03");
  EXPECT_NE(messages[0].payload.find(R"("status":"Failure")"), std::string::npos);
  EXPECT_NE(messages[0].payload.find("before the command's exit status"), std::string::npos);
  EXPECT_EQ(messages[1].opcode, WebSocketOpcode::kClose);
}

TEST(RemoteCommandTranslatorTest, BrokenSpdyIsReportedOnTheErrorChannel) {
  RemoteCommandTranslator translator({false, true, false, false});
  WebSocketDecoder client;
  translator.start();
  const auto out = translator.fromRuntime(bin("\x80\x02\x00\x01\x00\x00\x00\x00"));
  const auto messages = toClient(client, out);
  ASSERT_EQ(messages.size(), 2U);
  EXPECT_NE(messages[0].payload.find("unsupported version 2"), std::string::npos);
  EXPECT_TRUE(out.closeClient);
  EXPECT_TRUE(out.closeRuntime);
}

TEST(RemoteCommandTranslatorTest, PingsAreAnsweredAndPassedOn) {
  RemoteCommandTranslator translator({false, true, false, false});
  FakeRuntime runtime;
  WebSocketDecoder client;
  runtime.read(translator.start());
  auto out = translator.fromClient(encodeWebSocketFrame(WebSocketOpcode::kPing, "p", 7U));
  auto messages = toClient(client, out);
  ASSERT_EQ(messages.size(), 1U);
  EXPECT_EQ(messages[0].opcode, WebSocketOpcode::kPong);
  EXPECT_EQ(messages[0].payload, "p");
  auto frames = runtime.read(out);
  ASSERT_EQ(frames.size(), 1U);
  EXPECT_EQ(frames[0].type, SpdyFrameType::kPing);
  EXPECT_EQ(frames[0].value % 2, 1U);
  // The runtime's own ping (even id) is echoed; the answer to ours (odd) is not.
  out = translator.fromRuntime(FakeRuntime::control(SpdyFrameType::kPing, 0, 2) +
                               FakeRuntime::control(SpdyFrameType::kPing, 0, 1));
  frames = runtime.read(out);
  ASSERT_EQ(frames.size(), 1U);
  EXPECT_EQ(frames[0].value, 2U);
}

TEST(RemoteCommandTranslatorTest, ReceivedDataGivesNoWindowBack) {
  // As kubectl's SPDY client: the runtime keeps no send window, and updates in flight when it
  // closes after the status would make its kernel reset the connection.
  RemoteCommandTranslator translator({false, true, false, false});
  FakeRuntime runtime;
  runtime.read(translator.start());
  translator.fromRuntime(runtime.replyAll());
  const auto out =
      translator.fromRuntime(FakeRuntime::data(runtime.idOf("stdout"), std::string(40000, 'o')));
  EXPECT_TRUE(runtime.read(out).empty());
  EXPECT_FALSE(out.toClient.empty());
}

TEST(RemoteCommandTranslatorTest, ServerStreamsAreRefusedAndTheClientsCloseEndsAll) {
  RemoteCommandTranslator translator({false, true, false, false});
  FakeRuntime runtime;
  WebSocketDecoder client;
  runtime.read(translator.start());
  SpdyHeaderCompressor serverCompressor;  // a fresh context, as a server's first block
  SpdyFrame syn;
  syn.type = SpdyFrameType::kSynStream;
  syn.streamId = 2;
  syn.payload = serverCompressor.compress({{"streamtype", "data"}});
  auto out = translator.fromRuntime(encodeSpdyFrame(syn));
  auto frames = runtime.read(out);
  ASSERT_EQ(frames.size(), 1U);
  EXPECT_EQ(frames[0].type, SpdyFrameType::kRstStream);
  EXPECT_EQ(frames[0].value, static_cast<std::uint32_t>(SpdyRstStatus::kRefusedStream));

  out = translator.fromClient(encodeWebSocketFrame(WebSocketOpcode::kClose, "\x03\xe8", 9U));
  EXPECT_TRUE(out.closeClient);
  EXPECT_TRUE(out.closeRuntime);
  EXPECT_EQ(toClient(client, out).at(0).opcode, WebSocketOpcode::kClose);
}

TEST(RemoteCommandTranslatorTest, BadWebSocketBytesCloseWithProtocolError) {
  RemoteCommandTranslator translator({true, true, false, false});
  WebSocketDecoder client;
  translator.start();
  const auto out = translator.fromClient(bin("\xf2\x80\0\0\0\0"));  // RSV bits
  const auto messages = toClient(client, out);
  ASSERT_EQ(messages.size(), 1U);
  EXPECT_EQ(messages[0].payload, bin("\x03\xea"));
  EXPECT_TRUE(out.closeRuntime);
}

std::string base64Message(char digit, std::string_view base64) {
  std::string payload(1, digit);
  payload.append(base64);
  return encodeWebSocketFrame(WebSocketOpcode::kText, payload, 0x11223344U);
}

TEST(RemoteCommandTranslatorTest, Base64ProtocolCarriesChannelsAsTextBothWays) {
  EXPECT_EQ(channelProtocolNamed("base64.channel.k8s.io"), ChannelProtocol::kV1Base64);
  EXPECT_EQ(channelProtocolNamed("v4.base64.channel.k8s.io"), ChannelProtocol::kV4Base64);
  EXPECT_EQ(channelProtocolNamed("v5.channel.k8s.io"), ChannelProtocol::kV5);
  EXPECT_FALSE(channelProtocolNamed("v6.channel.k8s.io").has_value());

  RemoteCommandTranslator translator({true, true, true, false, ChannelProtocol::kV4Base64});
  FakeRuntime runtime;
  WebSocketDecoder client;
  const auto started = translator.start();
  runtime.read(started);
  auto messages = toClient(client, started);
  ASSERT_EQ(messages.size(), 1U);
  EXPECT_EQ(messages[0].opcode, WebSocketOpcode::kText);
  EXPECT_EQ(messages[0].payload, "1");  // the session is up
  runtime.read(translator.fromRuntime(runtime.replyAll()));

  // "0" + base64("hi\n"), and one byte short of a padding-free length: "a" is "YQ==".
  auto frames =
      runtime.read(translator.fromClient(base64Message('0', "aGkK") + base64Message('0', "YQ==")));
  ASSERT_EQ(frames.size(), 2U);
  EXPECT_EQ(frames[0].streamId, runtime.idOf("stdin"));
  EXPECT_EQ(frames[0].payload, "hi\n");
  EXPECT_EQ(frames[1].payload, "a");

  const std::string binary("\x00\xff\x10ok", 5);
  messages =
      toClient(client, translator.fromRuntime(FakeRuntime::data(runtime.idOf("stdout"), binary) +
                                              FakeRuntime::data(runtime.idOf("stderr"), "ab")));
  ASSERT_EQ(messages.size(), 2U);
  EXPECT_EQ(messages[0].opcode, WebSocketOpcode::kText);
  EXPECT_EQ(messages[0].payload, "1AP8Qb2s=");
  EXPECT_EQ(messages[1].payload, "2YWI=");

  // v4: the status goes on as JSON, in base64.
  messages =
      toClient(client, translator.fromRuntime(FakeRuntime::data(runtime.idOf("error"), kSuccess) +
                                              FakeRuntime::control(SpdyFrameType::kRstStream,
                                                                   runtime.idOf("error"), 5)));
  ASSERT_EQ(messages.size(), 2U);
  EXPECT_EQ(messages[0].payload,
            "3eyJtZXRhZGF0YSI6e30sInN0YXR1cyI6IlN1Y2Nlc3MifQ==");  // base64(kSuccess)
  EXPECT_EQ(messages[1].opcode, WebSocketOpcode::kClose);
}

TEST(RemoteCommandTranslatorTest, Base64GarbageEndsTheSession) {
  RemoteCommandTranslator translator({true, true, false, false, ChannelProtocol::kV1Base64});
  FakeRuntime runtime;
  WebSocketDecoder client;
  runtime.read(translator.start());
  translator.fromRuntime(runtime.replyAll());
  const auto out = translator.fromClient(base64Message('0', "not base64!"));
  const auto messages = toClient(client, out);
  ASSERT_FALSE(messages.empty());
  EXPECT_EQ(messages.back().opcode, WebSocketOpcode::kClose);
  EXPECT_EQ(messages.back().payload, bin("\x03\xea"));  // 1002
  EXPECT_TRUE(translator.finished());
}

TEST(RemoteCommandTranslatorTest, V1ProtocolsGetAFailuresMessageAsTextAndNothingOnSuccess) {
  const std::string failure =
      R"({"metadata":{},"status":"Failure","message":"command terminated with non-zero exit code: exit status 3","reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"3"}]}})";
  for (const auto protocol : {ChannelProtocol::kV1, ChannelProtocol::kV1Base64}) {
    for (const bool success : {true, false}) {
      RemoteCommandTranslator translator({false, true, false, false, protocol});
      FakeRuntime runtime;
      WebSocketDecoder client;
      runtime.read(translator.start());
      translator.fromRuntime(runtime.replyAll());
      // The status in two pieces, as a runtime may send it.
      const std::string status = success ? std::string(kSuccess) : failure;
      auto messages = toClient(client, translator.fromRuntime(FakeRuntime::data(
                                           runtime.idOf("error"), status.substr(0, 10))));
      EXPECT_TRUE(messages.empty());  // kept until the session ends
      messages = toClient(
          client, translator.fromRuntime(
                      FakeRuntime::data(runtime.idOf("error"), status.substr(10)) +
                      FakeRuntime::control(SpdyFrameType::kRstStream, runtime.idOf("error"), 5)));
      ASSERT_FALSE(messages.empty());
      EXPECT_EQ(messages.back().opcode, WebSocketOpcode::kClose);
      if (success) {
        EXPECT_EQ(messages.size(), 1U);
        continue;
      }
      ASSERT_EQ(messages.size(), 2U);
      const std::string text = "command terminated with non-zero exit code: exit status 3";
      if (protocol == ChannelProtocol::kV1) {
        EXPECT_EQ(messages[0].payload, "\x03" + text);
      } else {
        EXPECT_EQ(messages[0].payload,
                  "3Y29tbWFuZCB0ZXJtaW5hdGVkIHdpdGggbm9uLXplcm8gZXhpdCBjb2RlOiBleGl0IHN0YXR1cyAz");
      }
    }
  }
}

TEST(RemoteCommandTranslatorFuzzTest, RandomInputFromEitherSideNeverCrashes) {
  std::mt19937 random(6);
  for (int round = 0; round < 2000; ++round) {
    RemoteCommandTranslator translator(
        {(round & 1) != 0, true, (round & 2) != 0, (round & 4) != 0});
    FakeRuntime runtime;
    runtime.read(translator.start());
    translator.fromRuntime(runtime.replyAll());
    for (int piece = 0; piece < 4; ++piece) {
      std::string bytes(random() % 48, '\0');
      for (auto& c : bytes) c = static_cast<char>(random());
      if (piece % 2 == 0) {
        // Plausible frames with random contents go deeper than pure noise.
        bytes = round % 3 == 0
                    ? clientMessage(static_cast<std::uint8_t>(random() % 256), bytes)
                    : FakeRuntime::data(static_cast<std::uint32_t>(1 + 2 * (random() % 5)), bytes) +
                          bytes;
      }
      if (round % 2 == 0) {
        translator.fromClient(bytes);
      } else {
        translator.fromRuntime(bytes);
      }
    }
    translator.clientClosed();
    translator.runtimeClosed();
  }
  SUCCEED();
}

}  // namespace
}  // namespace kite::http
