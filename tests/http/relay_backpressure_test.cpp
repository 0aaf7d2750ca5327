// pipeTunnels and pipeWebSocketToRaw over real sockets and threads: a client -> a relay server
// that upgrades, opens an upgraded connection to a backend server and pipes the two, either
// byte for byte (the API server's SPDY exec/attach/port-forward passthrough) or unwrapping
// WebSocket binary messages (kubectl's WebSocket port-forward) -> the backend. The backend
// either floods a pattern toward the client and closes, or only checks and counts what the
// client sends. With the far reader paused, the relay's queue toward it stays bounded and the
// sender holds the rest (TCP holds it back); once reading resumes every byte arrives, in
// order, and the end still comes through.
// Runs in the sanitizer build too (the bed test does not).
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "kite/http/client.h"
#include "kite/http/websocket.h"
#include "test_certificates.h"

namespace kite::http {
namespace {

using namespace std::chrono_literals;
using testing::TestCertificates;

constexpr std::size_t kHighWater = std::size_t{1} << 20U;
// What the relay may hold beyond the bound: the read that crossed it (one socket read on each
// side, framed) and a message being framed.
constexpr std::size_t kSlack = 256U << 10U;
constexpr std::size_t kChunk = 32768;

char patternAt(std::size_t i) { return static_cast<char>('a' + (i * 7 + i / 4096) % 26); }

std::string patternFrom(std::size_t at, std::size_t size) {
  std::string out(size, '\0');
  for (std::size_t i = 0; i < size; ++i) out[i] = patternAt(at + i);
  return out;
}

// The backend's side: flood `flood` bytes toward the client, then close; or (flood 0) count
// and check the bytes that come in.
struct BackendSide {
  std::size_t flood = 0;
  std::atomic<std::size_t> received{0};
  std::atomic<bool> inOrder{true};
  std::atomic<bool> ended{false};
  std::mutex mutex;
  std::shared_ptr<Tunnel> tunnel;  // the backend's end of its connection
};

// What the client got: the raw bytes, or the binary payloads of WebSocket messages.
class Received {
 public:
  explicit Received(bool webSocket) : webSocket_(webSocket) {}
  void add(const std::string& bytes) {
    const std::lock_guard lock(mutex_);
    if (!webSocket_) {
      bytes_.append(bytes);
      return;
    }
    for (auto& message : decoder_.feed(bytes)) {
      if (message.opcode == WebSocketOpcode::kBinary) bytes_.append(message.payload);
      if (message.opcode == WebSocketOpcode::kClose) closeFrame_ = message.payload;
    }
  }
  void end() {
    const std::lock_guard lock(mutex_);
    ended_ = true;
    changed_.notify_all();
  }
  bool waitEnded() {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, 30s, [&] { return ended_; });
  }
  std::string bytes() {
    const std::lock_guard lock(mutex_);
    return bytes_;
  }
  std::string closeFrame() {
    const std::lock_guard lock(mutex_);
    return closeFrame_;
  }

 private:
  const bool webSocket_;
  std::mutex mutex_;
  std::condition_variable changed_;
  WebSocketDecoder decoder_{std::size_t{64} << 20U};
  std::string bytes_;
  std::string closeFrame_;
  bool ended_ = false;
};

// Where the first byte differs from the pattern; `bytes.size()` when none does.
std::size_t firstWrong(const std::string& bytes) {
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    if (bytes[i] != patternAt(i)) return i;
  }
  return bytes.size();
}

// Parameter: true for pipeWebSocketToRaw, false for pipeTunnels.
class RelayBackpressureTest : public ::testing::TestWithParam<bool> {
 protected:
  static void SetUpTestSuite() { certificates_ = std::make_unique<TestCertificates>(); }
  static void TearDownTestSuite() { certificates_.reset(); }

  void SetUp() override {
    ServerOptions options;
    options.bindAddress = "127.0.0.1";
    options.tls.certificateFile = certificates_->serverCert;
    options.tls.privateKeyFile = certificates_->serverKey;
    backend_ =
        startServer(options, [side = side_](Request&, const std::shared_ptr<Responder>& responder) {
          auto tunnel = responder->upgrade({101, {{"upgrade", "SPDY/3.1"}}, {}});
          {
            const std::lock_guard lock(side->mutex);
            side->tunnel = tunnel;
          }
          tunnel->start(
              [side](const std::string& data) {
                const std::size_t at = side->received;
                for (std::size_t i = 0; i < data.size(); ++i) {
                  if (data[i] != patternAt(at + i)) side->inOrder = false;
                }
                side->received += data.size();
              },
              [side] { side->ended = true; });
          for (std::size_t at = 0; at < side->flood; at += kChunk) {
            tunnel->write(patternFrom(at, std::min(kChunk, side->flood - at)));
          }
          if (side->flood > 0) tunnel->close();  // after what it wrote
        });
    const auto backendPort = backend_->port();
    const std::string ca = certificates_->caCert;
    relay_ =
        startServer(options, [backendPort, ca, webSocket = GetParam(), ends = relayEnds_](
                                 Request& request, const std::shared_ptr<Responder>& responder) {
          ClientRequest forward;
          forward.method = "POST";
          forward.target = "/portforward";
          forward.headers = {{"connection", "Upgrade"}, {"upgrade", "SPDY/3.1"}};
          Response head;
          auto backend = ClientConnection::open("127.0.0.1", backendPort, ClientTls{ca, "", "", ""},
                                                forward, 10s, head);
          Headers switching = {{"upgrade", "SPDY/3.1"}};
          if (webSocket) {
            switching = {{"upgrade", "websocket"},
                         {"sec-websocket-accept",
                          webSocketAccept(request.header("sec-websocket-key").value())},
                         {"sec-websocket-protocol", "SPDY/3.1+portforward.k8s.io"}};
          }
          auto tunnel = responder->upgrade({101, std::move(switching), {}});
          {
            const std::lock_guard lock(ends->mutex);
            ends->client = tunnel;
            ends->backend = backend;
          }
          if (webSocket) {
            pipeWebSocketToRaw(tunnel, backend, {kHighWater, kHighWater / 4});
          } else {
            pipeTunnels(tunnel, backend, {kHighWater, kHighWater / 4});
          }
        });
  }

  void TearDown() override {
    // The relay's connection toward the backend runs on a thread of its own, which may still
    // be closing the relay's client connection: let it finish before the servers go.
    for (int i = 0; i < 100 && !side_->ended; ++i) std::this_thread::sleep_for(100ms);
    std::this_thread::sleep_for(100ms);
    relay_->stop();
    backend_->stop();
  }

  // Connects through the relay, not reading until the test resumes it.
  std::shared_ptr<ClientConnection> connect(const std::shared_ptr<Received>& received) {
    ClientRequest request;
    request.target = "/portforward";
    request.headers = {{"connection", "Upgrade"}, {"upgrade", "SPDY/3.1"}};
    if (GetParam()) {
      request.headers = {{"connection", "Upgrade"},
                         {"upgrade", "websocket"},
                         {"sec-websocket-version", "13"},
                         {"sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="},
                         {"sec-websocket-protocol", "SPDY/3.1+portforward.k8s.io"}};
    }
    Response head;
    auto client =
        ClientConnection::open("127.0.0.1", relay_->port(),
                               ClientTls{certificates_->caCert, "", "", ""}, request, 10s, head);
    EXPECT_EQ(head.status, 101);
    client->setReading(false);
    client->start([received](const std::string& data) { received->add(data); },
                  [received] { received->end(); });
    return client;
  }

  // The most bytes the relay's tunnel toward one side held while sampled for `period`, and
  // on until `settled` holds (at most 60 s: a sanitizer build under load is slow to write
  // what the test waits for).
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
        const auto& tunnel = towardClient ? relayEnds_->client : relayEnds_->backend;
        if (tunnel) most = std::max(most, tunnel->queuedBytes());
      }
      std::this_thread::sleep_for(5ms);
    }
    return most;
  }

  std::shared_ptr<Tunnel> backendEnd() {
    for (int i = 0; i < 200; ++i) {
      {
        const std::lock_guard lock(side_->mutex);
        if (side_->tunnel) return side_->tunnel;
      }
      std::this_thread::sleep_for(10ms);
    }
    return nullptr;
  }

  static std::unique_ptr<TestCertificates> certificates_;
  std::unique_ptr<Server> backend_;
  std::unique_ptr<Server> relay_;
  std::shared_ptr<BackendSide> side_ = std::make_shared<BackendSide>();
  struct RelayEnds {
    std::mutex mutex;
    std::shared_ptr<Tunnel> client;   // the relay's end toward the client
    std::shared_ptr<Tunnel> backend;  // and toward the backend
  };
  std::shared_ptr<RelayEnds> relayEnds_ = std::make_shared<RelayEnds>();
};

std::unique_ptr<TestCertificates> RelayBackpressureTest::certificates_;

TEST_P(RelayBackpressureTest, SlowClientHoldsTheBackendBackAndGetsEveryByteInOrder) {
  constexpr std::size_t kFlood = std::size_t{64} << 20U;
  side_->flood = kFlood;
  auto received = std::make_shared<Received>(GetParam());
  auto client = connect(received);  // not reading yet: a slow client
  // The backend has written all of it; the relay holds no more than its bound, the rest
  // waits in the backend's own queue.
  const auto backend = backendEnd();
  ASSERT_TRUE(backend);
  const std::size_t most =
      maxQueued(true, 1500ms, [&] { return backend->queuedBytes() >= kFlood / 2; });
  EXPECT_LE(most, kHighWater + kSlack) << "the relay held " << most << " bytes";
  EXPECT_GE(backend->queuedBytes(), kFlood / 2);

  client->setReading(true);
  ASSERT_TRUE(received->waitEnded()) << "the client got " << received->bytes().size();
  const std::string bytes = received->bytes();
  EXPECT_EQ(bytes.size(), kFlood);
  EXPECT_EQ(firstWrong(bytes), bytes.size());
  if (GetParam()) {
    EXPECT_EQ(received->closeFrame(), std::string("\x03\xe8", 2));  // the backend's end
  }
  client->close();
}

TEST_P(RelayBackpressureTest, SlowBackendHoldsTheClientBackAndGetsEveryByteInOrder) {
  constexpr std::size_t kInput = std::size_t{48} << 20U;
  auto received = std::make_shared<Received>(GetParam());
  auto client = connect(received);
  client->setReading(true);
  const auto backend = backendEnd();
  ASSERT_TRUE(backend);
  backend->setReading(false);  // the backend does not take anything for a while
  std::string out;
  for (std::size_t at = 0; at < kInput; at += kChunk) {
    std::string chunk = patternFrom(at, kChunk);
    out += GetParam() ? encodeWebSocketFrame(WebSocketOpcode::kBinary, chunk, 0x5a5a1234U)
                      : std::move(chunk);
  }
  client->write(std::move(out));
  const std::size_t most = maxQueued(false, 1500ms);
  EXPECT_LE(most, kHighWater + kSlack) << "the relay held " << most << " bytes";
  EXPECT_GE(client->queuedBytes(), kInput / 2);  // held back at the client

  backend->setReading(true);
  for (int i = 0; i < 300 && side_->received < kInput; ++i) std::this_thread::sleep_for(100ms);
  EXPECT_EQ(side_->received, kInput);
  EXPECT_TRUE(side_->inOrder);
  // The client leaving still ends the backend's connection.
  client->close();
  for (int i = 0; i < 100 && !side_->ended; ++i) std::this_thread::sleep_for(100ms);
  EXPECT_TRUE(side_->ended);
}

INSTANTIATE_TEST_SUITE_P(Relays, RelayBackpressureTest, ::testing::Values(false, true),
                         [](const auto& relay) { return relay.param ? "WebSocket" : "Raw"; });

}  // namespace
}  // namespace kite::http
