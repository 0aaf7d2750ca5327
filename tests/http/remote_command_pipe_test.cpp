// pipeRemoteCommand over real sockets and threads: a WebSocket client (masked frames, as
// kubectl sends) -> a relay that answers the handshake and runs the translator -> a SPDY
// remotecommand stand-in that echoes stdin upper-cased on stdout and sends its status once
// stdin ends, then resets its streams and goes away, as the runtimes' streaming servers do.
// Runs in the sanitizer build too (the bed test does not).
#include "kite/http/remote_command_pipe.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>

#include "kite/http/client.h"
#include "kite/http/spdy_frame.h"
#include "kite/http/spdy_header_block.h"
#include "kite/http/websocket.h"
#include "test_certificates.h"

namespace kite::http {
namespace {

using namespace std::chrono_literals;
using testing::TestCertificates;

constexpr char kStatus[] = R"({"metadata":{},"status":"Success"})";

// One SPDY session of the stand-in runtime.
class SpdySession {
 public:
  explicit SpdySession(std::shared_ptr<Tunnel> tunnel) : tunnel_(std::move(tunnel)) {}

  void received(const std::string& bytes) {
    std::string out;
    bool end = false;
    {
      const std::lock_guard lock(mutex_);
      for (auto& frame : decoder_.feed(bytes)) {
        if (frame.type == SpdyFrameType::kSynStream) {
          const auto headers = decompressor_.decompress(frame.payload);
          ids_[headers.at(0).second] = frame.streamId;
          SpdyFrame reply;
          reply.type = SpdyFrameType::kSynReply;
          reply.streamId = frame.streamId;
          reply.payload = compressor_.compress({});
          out += encodeSpdyFrame(reply);
        } else if (frame.type == SpdyFrameType::kData && frame.streamId == ids_["stdin"]) {
          SpdyFrame echo;
          echo.streamId = ids_["stdout"];
          echo.payload = frame.payload;
          for (auto& c : echo.payload) {
            c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
          }
          if (!echo.payload.empty()) out += encodeSpdyFrame(echo);
          if (frame.fin()) {
            SpdyFrame status;
            status.streamId = ids_["error"];
            status.payload = kStatus;
            out += encodeSpdyFrame(status);
            for (const auto& [type, id] : ids_) {
              SpdyFrame reset;
              reset.type = SpdyFrameType::kRstStream;
              reset.streamId = id;
              reset.value = static_cast<std::uint32_t>(SpdyRstStatus::kCancel);
              out += encodeSpdyFrame(reset);
            }
            SpdyFrame goAway;
            goAway.type = SpdyFrameType::kGoAway;
            out += encodeSpdyFrame(goAway);
            end = true;
          }
        }
      }
    }
    if (!out.empty()) tunnel_->write(std::move(out));
    if (end) tunnel_->close();
  }

 private:
  std::mutex mutex_;
  std::shared_ptr<Tunnel> tunnel_;
  SpdyFrameDecoder decoder_;
  SpdyHeaderDecompressor decompressor_;
  SpdyHeaderCompressor compressor_;
  std::map<std::string, std::uint32_t> ids_;
};

// What the WebSocket client receives, decoded; waits with a deadline.
class Received {
 public:
  void add(const std::string& bytes) {
    const std::lock_guard lock(mutex_);
    for (auto& m : decoder_.feed(bytes)) messages_.push_back(std::move(m));
    changed_.notify_all();
  }
  void end() {
    const std::lock_guard lock(mutex_);
    ended_ = true;
    changed_.notify_all();
  }
  bool waitFor(const std::function<bool(const std::vector<WebSocketMessage>&)>& done) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, 10s, [&] { return done(messages_); });
  }
  bool waitEnded() {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, 10s, [&] { return ended_; });
  }
  std::vector<WebSocketMessage> messages() {
    const std::lock_guard lock(mutex_);
    return messages_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  WebSocketDecoder decoder_;
  std::vector<WebSocketMessage> messages_;
  bool ended_ = false;
};

bool hasClose(const std::vector<WebSocketMessage>& messages) {
  return !messages.empty() && messages.back().opcode == WebSocketOpcode::kClose;
}

std::string clientFrame(std::string_view payload) {
  return encodeWebSocketFrame(WebSocketOpcode::kBinary, payload, 0x5a5a1234U);
}

class RemoteCommandPipeTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { certificates_ = std::make_unique<TestCertificates>(); }
  static void TearDownTestSuite() { certificates_.reset(); }

  void SetUp() override {
    ServerOptions options;
    options.bindAddress = "127.0.0.1";
    options.tls.certificateFile = certificates_->serverCert;
    options.tls.privateKeyFile = certificates_->serverKey;
    runtimeEnded_ = std::make_shared<std::atomic<int>>(0);
    runtime_ = startServer(options, [ended = runtimeEnded_](Request&,
                                                            std::shared_ptr<Responder> responder) {
      auto tunnel = responder->upgrade(
          {101, {{"upgrade", "SPDY/3.1"}, {"x-stream-protocol-version", "v4.channel.k8s.io"}}, {}});
      auto session = std::make_shared<SpdySession>(tunnel);
      tunnel->start([session](const std::string& data) { session->received(data); },
                    [ended] { ++*ended; });
    });
    const auto runtimePort = runtime_->port();
    const std::string ca = certificates_->caCert;
    relay_ = startServer(options, [runtimePort, ca](Request& request,
                                                    std::shared_ptr<Responder> responder) {
      ClientRequest forward;
      forward.method = "POST";
      forward.target = "/exec";
      forward.headers = {{"connection", "Upgrade"},
                         {"upgrade", "SPDY/3.1"},
                         {"x-stream-protocol-version", "v4.channel.k8s.io"}};
      Response head;
      auto backend = ClientConnection::open("127.0.0.1", runtimePort, ClientTls{ca, "", "", ""},
                                            forward, 10s, head);
      auto tunnel = responder->upgrade(
          {101,
           {{"upgrade", "websocket"},
            {"sec-websocket-accept", webSocketAccept(request.header("sec-websocket-key").value())},
            {"sec-websocket-protocol", "v5.channel.k8s.io"}},
           {}});
      pipeRemoteCommand(tunnel, backend, {true, true, true, false});
    });
  }

  void TearDown() override {
    relay_->stop();
    runtime_->stop();
  }

  std::shared_ptr<ClientConnection> connect(Received& received) {
    ClientRequest request;
    request.target = "/exec?stdin=true&stdout=true&stderr=true";
    request.headers = {{"connection", "Upgrade"},
                       {"upgrade", "websocket"},
                       {"sec-websocket-version", "13"},
                       {"sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="},
                       {"sec-websocket-protocol", "v5.channel.k8s.io"}};
    Response head;
    auto client =
        ClientConnection::open("127.0.0.1", relay_->port(),
                               ClientTls{certificates_->caCert, "", "", ""}, request, 10s, head);
    EXPECT_EQ(head.status, 101);
    client->start([&received](const std::string& data) { received.add(data); },
                  [&received] { received.end(); });
    return client;
  }

  static std::unique_ptr<TestCertificates> certificates_;
  std::unique_ptr<Server> runtime_;
  std::unique_ptr<Server> relay_;
  std::shared_ptr<std::atomic<int>> runtimeEnded_;
};

std::unique_ptr<TestCertificates> RemoteCommandPipeTest::certificates_;

TEST_F(RemoteCommandPipeTest, StdinEchoesAndItsCloseEndsTheCommandWithItsStatus) {
  Received received;
  auto client = connect(received);
  client->write(clientFrame(std::string("\x00hello", 6)));
  ASSERT_TRUE(received.waitFor([](const auto& messages) {
    return std::any_of(messages.begin(), messages.end(),
                       [](const auto& m) { return m.payload == "\x01HELLO"; });
  }));
  client->write(clientFrame(std::string("\x00 again", 7)) +
                clientFrame(std::string("\xff\x00", 2)));  // v5: stdin is closed
  ASSERT_TRUE(received.waitFor(hasClose));
  const auto messages = received.messages();
  ASSERT_EQ(messages.size(), 5U);
  EXPECT_EQ(messages[0].payload, "\x01");  // the session is up
  EXPECT_EQ(messages[1].payload, "\x01HELLO");
  EXPECT_EQ(messages[2].payload, "\x01 AGAIN");
  EXPECT_EQ(messages[3].payload, std::string("\x03") + kStatus);
  EXPECT_EQ(messages[4].payload, std::string("\x03\xe8", 2));
  EXPECT_TRUE(received.waitEnded());
  client->close();
}

TEST_F(RemoteCommandPipeTest, TheClientLeavingClosesTheRuntimeConnection) {
  Received received;
  auto client = connect(received);
  client->write(clientFrame(std::string("\x00x", 2)));
  ASSERT_TRUE(received.waitFor([](const auto& messages) { return messages.size() >= 2; }));
  client->close();
  for (int i = 0; i < 100 && *runtimeEnded_ == 0; ++i) std::this_thread::sleep_for(100ms);
  EXPECT_EQ(*runtimeEnded_, 1);
}

}  // namespace
}  // namespace kite::http
