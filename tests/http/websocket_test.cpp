#include "kite/http/websocket.h"

#include <gtest/gtest.h>

namespace kite::http {
namespace {

TEST(WebSocketTest, AcceptKeyAsInTheRfc) {
  EXPECT_EQ(webSocketAccept("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST(WebSocketTest, MaskedClientFramesDecode) {
  WebSocketDecoder decoder;
  const auto frame = encodeWebSocketFrame(WebSocketOpcode::kBinary, "hello", 0x37fa213dU);
  // The RFC's example: "Hello" masked with 37 fa 21 3d.
  const auto rfc = encodeWebSocketFrame(WebSocketOpcode::kText, "Hello", 0x37fa213dU);
  EXPECT_EQ(rfc, std::string("\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58", 11));
  const auto messages = decoder.feed(frame);
  ASSERT_EQ(messages.size(), 1U);
  EXPECT_EQ(messages[0].opcode, WebSocketOpcode::kBinary);
  EXPECT_EQ(messages[0].payload, "hello");
}

TEST(WebSocketTest, LengthsAndSplitDelivery) {
  for (const std::size_t size : {std::size_t{0}, std::size_t{125}, std::size_t{126},
                                 std::size_t{65535}, std::size_t{65536}, std::size_t{200000}}) {
    const std::string payload(size, 'x');
    const auto frame = encodeWebSocketFrame(WebSocketOpcode::kBinary, payload, 0x01020304U);
    WebSocketDecoder decoder;
    std::vector<WebSocketMessage> got;
    // Byte by byte at the start (headers split anywhere), then the rest.
    for (std::size_t i = 0; i < std::min<std::size_t>(frame.size(), 12); ++i) {
      for (auto& m : decoder.feed(frame.substr(i, 1))) got.push_back(std::move(m));
    }
    if (frame.size() > 12) {
      for (auto& m : decoder.feed(frame.substr(12))) got.push_back(std::move(m));
    }
    ASSERT_EQ(got.size(), 1U) << size;
    EXPECT_EQ(got[0].payload.size(), size);
  }
  // Unmasked server frames decode too (the length encodings are the same).
  WebSocketDecoder decoder;
  const auto frames = encodeWebSocketFrame(WebSocketOpcode::kBinary, std::string(300, 'y')) +
                      encodeWebSocketFrame(WebSocketOpcode::kPing, "p");
  const auto messages = decoder.feed(frames);
  ASSERT_EQ(messages.size(), 2U);
  EXPECT_EQ(messages[0].payload, std::string(300, 'y'));
  EXPECT_EQ(messages[1].opcode, WebSocketOpcode::kPing);
}

TEST(WebSocketTest, FragmentsJoinAroundControlFrames) {
  std::string bytes;
  bytes += std::string("\x02\x03", 2) + "abc";                 // binary, not FIN
  bytes += encodeWebSocketFrame(WebSocketOpcode::kPing, "!");  // control in between
  bytes += std::string("\x80\x02", 2) + "de";                  // continuation, FIN
  WebSocketDecoder decoder;
  const auto messages = decoder.feed(bytes);
  ASSERT_EQ(messages.size(), 2U);
  EXPECT_EQ(messages[0].opcode, WebSocketOpcode::kPing);
  EXPECT_EQ(messages[1].opcode, WebSocketOpcode::kBinary);
  EXPECT_EQ(messages[1].payload, "abcde");
}

TEST(WebSocketTest, ProtocolErrorsThrow) {
  EXPECT_THROW(WebSocketDecoder().feed(std::string("\x80\x01x", 3)), WebSocketError);  // cont.
  EXPECT_THROW(WebSocketDecoder().feed(std::string("\xc2\x00", 2)), WebSocketError);   // RSV1
  EXPECT_THROW(WebSocketDecoder().feed(std::string("\x09\x00", 2)), WebSocketError);   // frag ping
  EXPECT_THROW(WebSocketDecoder().feed(std::string("\x83\x00", 2)), WebSocketError);   // opcode 3
  WebSocketDecoder small(10);
  EXPECT_THROW(small.feed(encodeWebSocketFrame(WebSocketOpcode::kBinary, std::string(11, 'z'))),
               WebSocketError);
}

TEST(WebSocketTest, OfferedProtocols) {
  EXPECT_EQ(webSocketProtocols(" SPDY/3.1+portforward.k8s.io , v5.channel.k8s.io,"),
            (std::vector<std::string>{"SPDY/3.1+portforward.k8s.io", "v5.channel.k8s.io"}));
  EXPECT_TRUE(webSocketProtocols("").empty());
}

}  // namespace
}  // namespace kite::http
