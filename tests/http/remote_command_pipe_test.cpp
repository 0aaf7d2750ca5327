// pipeRemoteCommand over real sockets and threads: a WebSocket client (masked frames, as
// kubectl sends) -> a relay that answers the handshake and runs the translator -> a SPDY
// remotecommand stand-in that echoes stdin upper-cased on stdout and sends its status once
// stdin ends, then resets its streams and goes away, as the runtimes' streaming servers do.
// Given "flood N" on stdin it answers N bytes of a pattern on stdout instead; in sink mode it
// only counts (and checks) stdin. The relay's queues stay bounded toward a client or runtime
// that does not read, and every byte still arrives, in order.
// Runs in the sanitizer build too (the bed test does not).
#include "kite/http/remote_command_pipe.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
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

constexpr std::size_t kHighWater = std::size_t{1} << 20U;
// What the relay may hold beyond the bound: the read that crossed it (one socket read,
// translated, on each side) and a frame being coded.
constexpr std::size_t kSlack = 256U << 10U;

char patternAt(std::size_t i) { return static_cast<char>('a' + (i * 7 + i / 4096) % 26); }

// What the stand-in runtime saw; shared with the test.
struct RuntimeSide {
  std::atomic<bool> sink{false};  // count stdin, echo nothing
  std::atomic<std::size_t> stdinBytes{0};
  std::atomic<bool> stdinInOrder{true};
  std::atomic<bool> replied{false};  // the streams are open
  std::mutex mutex;
  std::shared_ptr<Tunnel> tunnel;  // the runtime's end of its connection
};

// One SPDY session of the stand-in runtime.
class SpdySession {
 public:
  SpdySession(std::shared_ptr<Tunnel> tunnel, std::shared_ptr<RuntimeSide> side)
      : tunnel_(std::move(tunnel)), side_(std::move(side)) {}

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
          if (ids_.size() == 4) side_->replied = true;
        } else if (frame.type == SpdyFrameType::kData && frame.streamId == ids_["stdin"]) {
          if (side_->sink) {
            const std::size_t at = side_->stdinBytes;
            for (std::size_t i = 0; i < frame.payload.size(); ++i) {
              if (frame.payload[i] != patternAt(at + i)) side_->stdinInOrder = false;
            }
            side_->stdinBytes += frame.payload.size();
          } else if (frame.payload.starts_with("flood ")) {
            const std::size_t size = std::stoul(frame.payload.substr(6));
            for (std::size_t at = 0; at < size; at += 32768) {
              SpdyFrame data;
              data.streamId = ids_["stdout"];
              data.payload.resize(std::min<std::size_t>(32768, size - at));
              for (std::size_t i = 0; i < data.payload.size(); ++i) {
                data.payload[i] = patternAt(at + i);
              }
              out += encodeSpdyFrame(data);
            }
          } else {
            SpdyFrame echo;
            echo.streamId = ids_["stdout"];
            echo.payload = frame.payload;
            for (auto& c : echo.payload) {
              c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
            }
            if (!echo.payload.empty()) out += encodeSpdyFrame(echo);
          }
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
  std::shared_ptr<RuntimeSide> side_;
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
    runtime_ = startServer(options, [ended = runtimeEnded_, side = side_](
                                        Request&, std::shared_ptr<Responder> responder) {
      auto tunnel = responder->upgrade(
          {101, {{"upgrade", "SPDY/3.1"}, {"x-stream-protocol-version", "v4.channel.k8s.io"}}, {}});
      {
        const std::lock_guard lock(side->mutex);
        side->tunnel = tunnel;
      }
      auto session = std::make_shared<SpdySession>(tunnel, side);
      tunnel->start([session](const std::string& data) { session->received(data); },
                    [ended] { ++*ended; });
    });
    const auto runtimePort = runtime_->port();
    const std::string ca = certificates_->caCert;
    relay_ = startServer(options, [runtimePort, ca, relayEnds = relayEnds_](
                                      Request& request, std::shared_ptr<Responder> responder) {
      ClientRequest forward;
      forward.method = "POST";
      forward.target = "/exec";
      forward.headers = {{"connection", "Upgrade"},
                         {"upgrade", "SPDY/3.1"},
                         {"x-stream-protocol-version", "v4.channel.k8s.io"}};
      Response head;
      std::shared_ptr<ClientConnection> backend;
      try {
        backend = ClientConnection::open("127.0.0.1", runtimePort, ClientTls{ca, "", "", ""},
                                         forward, 10s, head);
      } catch (const std::exception& e) {
        ADD_FAILURE() << "the relay could not reach the runtime: " << e.what();
        throw;
      }
      auto tunnel = responder->upgrade(
          {101,
           {{"upgrade", "websocket"},
            {"sec-websocket-accept", webSocketAccept(request.header("sec-websocket-key").value())},
            {"sec-websocket-protocol", "v5.channel.k8s.io"}},
           {}});
      {
        const std::lock_guard lock(relayEnds->mutex);
        relayEnds->client = tunnel;
        relayEnds->runtime = backend;
      }
      pipeRemoteCommand(tunnel, backend, {true, true, true, false}, {kHighWater, kHighWater / 4});
    });
  }

  // The most bytes the relay held toward one side (its tunnel's queue, and for stdin what
  // the translator keeps) while sampled for `period`, and on until `settled` holds (at most
  // 60 s: a sanitizer build under load is slow to write what the test waits for).
  std::size_t maxQueued(
      bool towardClient, std::chrono::milliseconds period,
      const std::function<bool()>& settled = [] { return true; }) {
    std::size_t most = 0;
    const auto start = std::chrono::steady_clock::now();
    const auto until = start + period;
    const auto giveUp = start + 60s;
    while (std::chrono::steady_clock::now() < until ||
           (std::chrono::steady_clock::now() < giveUp && !settled())) {
      {
        const std::lock_guard lock(relayEnds_->mutex);
        const auto& tunnel = towardClient ? relayEnds_->client : relayEnds_->runtime;
        if (tunnel) most = std::max(most, tunnel->queuedBytes());
      }
      std::this_thread::sleep_for(5ms);
    }
    return most;
  }

  void TearDown() override {
    // The relay's connection toward the runtime runs on a thread of its own, which may still
    // be closing the relay's client connection: let it finish before the servers go (a
    // connection it would release after its server's io_context is gone crashes).
    for (int i = 0; i < 50 && *runtimeEnded_ == 0; ++i) std::this_thread::sleep_for(100ms);
    std::this_thread::sleep_for(100ms);
    relay_->stop();
    runtime_->stop();
  }

  // The callbacks hold `received`: the connection may end after the test body returned.
  std::shared_ptr<ClientConnection> connect(const std::shared_ptr<Received>& received) {
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
    client->start([received](const std::string& data) { received->add(data); },
                  [received] { received->end(); });
    return client;
  }

  static std::unique_ptr<TestCertificates> certificates_;
  std::unique_ptr<Server> runtime_;
  std::unique_ptr<Server> relay_;
  std::shared_ptr<std::atomic<int>> runtimeEnded_;
  std::shared_ptr<RuntimeSide> side_ = std::make_shared<RuntimeSide>();
  struct RelayEnds {
    std::mutex mutex;
    std::shared_ptr<Tunnel> client;   // the relay's end toward the WebSocket client
    std::shared_ptr<Tunnel> runtime;  // and toward the runtime
  };
  std::shared_ptr<RelayEnds> relayEnds_ = std::make_shared<RelayEnds>();
};

std::unique_ptr<TestCertificates> RemoteCommandPipeTest::certificates_;

TEST_F(RemoteCommandPipeTest, StdinEchoesAndItsCloseEndsTheCommandWithItsStatus) {
  auto received = std::make_shared<Received>();
  auto client = connect(received);
  client->write(clientFrame(std::string("\x00hello", 6)));
  ASSERT_TRUE(received->waitFor([](const auto& messages) {
    return std::any_of(messages.begin(), messages.end(),
                       [](const auto& m) { return m.payload == "\x01HELLO"; });
  }));
  client->write(clientFrame(std::string("\x00 again", 7)) +
                clientFrame(std::string("\xff\x00", 2)));  // v5: stdin is closed
  ASSERT_TRUE(received->waitFor(hasClose));
  const auto messages = received->messages();
  ASSERT_EQ(messages.size(), 5U);
  EXPECT_EQ(messages[0].payload, "\x01");  // the session is up
  EXPECT_EQ(messages[1].payload, "\x01HELLO");
  EXPECT_EQ(messages[2].payload, "\x01 AGAIN");
  EXPECT_EQ(messages[3].payload, std::string("\x03") + kStatus);
  EXPECT_EQ(messages[4].payload, std::string("\x03\xe8", 2));
  EXPECT_TRUE(received->waitEnded());
  client->close();
}

TEST_F(RemoteCommandPipeTest, TheClientLeavingClosesTheRuntimeConnection) {
  auto received = std::make_shared<Received>();
  auto client = connect(received);
  client->write(clientFrame(std::string("\x00x", 2)));
  ASSERT_TRUE(received->waitFor([](const auto& messages) { return messages.size() >= 2; }));
  client->close();
  for (int i = 0; i < 100 && *runtimeEnded_ == 0; ++i) std::this_thread::sleep_for(100ms);
  EXPECT_EQ(*runtimeEnded_, 1);
}

TEST_F(RemoteCommandPipeTest, SlowClientHoldsTheOutputBackAndGetsEveryByteInOrder) {
  constexpr std::size_t kFlood = std::size_t{64} << 20U;
  auto received = std::make_shared<Received>();
  auto client = connect(received);
  client->setReading(false);  // kubectl's terminal is slow: nothing is taken for a while
  client->write(clientFrame(std::string(1, '\0') + "flood " + std::to_string(kFlood)));
  // The runtime has written all of it; the relay holds no more than its bound, the rest
  // waits in the runtime's own queue (TCP holds it back).
  const auto runtimeQueued = [this] {
    const std::lock_guard lock(side_->mutex);
    return side_->tunnel ? side_->tunnel->queuedBytes() : 0;
  };
  const std::size_t most = maxQueued(true, 1500ms, [&] { return runtimeQueued() >= kFlood / 2; });
  EXPECT_LE(most, kHighWater + kSlack);
  EXPECT_GE(runtimeQueued(), kFlood / 2);

  client->setReading(true);
  client->write(clientFrame(std::string("\xff\x00", 2)));  // stdin ends: the status follows
  ASSERT_TRUE(received->waitFor(hasClose));
  std::string output;
  std::string status;
  for (const auto& m : received->messages()) {
    if (m.payload.starts_with('\x01')) output.append(m.payload, 1);
    if (m.payload.starts_with('\x03') && m.payload.size() > 2) status = m.payload.substr(1);
  }
  ASSERT_EQ(output.size(), kFlood);
  std::size_t firstWrong = kFlood;
  for (std::size_t i = 0; i < kFlood && firstWrong == kFlood; ++i) {
    if (output[i] != patternAt(i)) firstWrong = i;
  }
  EXPECT_EQ(firstWrong, kFlood);
  EXPECT_EQ(status, kStatus);
  client->close();
}

TEST_F(RemoteCommandPipeTest, SlowRuntimeHoldsStdinBackAndGetsEveryByteInOrder) {
  constexpr std::size_t kInput = std::size_t{48} << 20U;
  side_->sink = true;
  auto received = std::make_shared<Received>();
  auto client = connect(received);
  for (int i = 0; i < 200 && !side_->replied; ++i) std::this_thread::sleep_for(10ms);
  ASSERT_TRUE(side_->replied);
  std::shared_ptr<Tunnel> runtimeEnd;
  {
    const std::lock_guard lock(side_->mutex);
    runtimeEnd = side_->tunnel;
  }
  runtimeEnd->setReading(false);  // the runtime does not take stdin for a while
  std::string frames;
  for (std::size_t at = 0; at < kInput; at += 32768) {
    std::string payload(1, '\x00');
    for (std::size_t i = at; i < at + 32768; ++i) payload.push_back(patternAt(i));
    frames += clientFrame(payload);
  }
  client->write(std::move(frames));
  const std::size_t most = maxQueued(false, 1500ms);
  EXPECT_LE(most, kHighWater + kSlack);
  EXPECT_GE(client->queuedBytes(), kInput / 2);  // held back at the client

  runtimeEnd->setReading(true);
  client->write(clientFrame(std::string("\xff\x00", 2)));
  ASSERT_TRUE(received->waitFor(hasClose))
      << "the runtime got " << side_->stdinBytes << " bytes; the client still holds "
      << client->queuedBytes() << ", the relay " << maxQueued(false, 10ms);
  EXPECT_EQ(side_->stdinBytes, kInput);
  EXPECT_TRUE(side_->stdinInOrder);
  const auto messages = received->messages();
  ASSERT_GE(messages.size(), 2U);
  EXPECT_EQ(messages[messages.size() - 2].payload, std::string("\x03") + kStatus);
  client->close();
}

}  // namespace
}  // namespace kite::http
