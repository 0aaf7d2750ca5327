// kite's HTTPS server speaking HTTP/2 (ALPN "h2") over real TLS on loopback: the same
// handlers as HTTP/1.1, driven by an nghttp2 client written for the tests and by curl.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "h2_client.h"
#include "kite/http/server.h"
#include "test_certificates.h"
#include "tls_client.h"

namespace kite::http {
namespace {

using testing::ClientTls;
using testing::H2Client;
using testing::H2Options;
using testing::H2Reply;
using testing::TestCertificates;
using testing::TlsClient;

// Generous bound for waits that only guard against a hang; correctness never depends on it.
constexpr auto kHangGuard = std::chrono::seconds(60);

Response text(int status, std::string body) {
  Response response;
  response.status = status;
  response.headers.emplace_back("Content-Type", "text/plain");  // mixed case on purpose
  response.body = std::move(body);
  return response;
}

// Answers with what the server made of the request.
void echo(Request& request, const std::shared_ptr<Responder>& responder) {
  std::string body;
  body.append("method=").append(request.method).append("\n");
  body.append("path=").append(request.path).append("\n");
  body.append("query=").append(request.query).append("\n");
  body.append("target=").append(request.target).append("\n");
  body.append("remote=").append(request.remoteAddress).append("\n");
  if (auto value = request.header("x-test")) {
    body.append("x-test=").append(*value).append("\n");
  }
  if (auto host = request.header("host")) {
    body.append("host=").append(*host).append("\n");
  }
  body.append("body=").append(request.body);
  responder->respond(text(200, std::move(body)));
}

std::string bodyOf(const std::string& echoed) { return echoed.substr(echoed.find("body=") + 5); }

// Streams the handler started, for a test to write to and wait on.
class StreamBoard {
 public:
  void add(std::shared_ptr<Stream> stream) {
    stream->onClose([this] {
      const std::lock_guard lock(mutex_);
      ++closed_;
      changed_.notify_all();
    });
    const std::lock_guard lock(mutex_);
    streams_.push_back(std::move(stream));
    changed_.notify_all();
  }
  std::vector<std::shared_ptr<Stream>> waitFor(std::size_t count) {
    std::unique_lock lock(mutex_);
    changed_.wait_for(lock, kHangGuard, [&] { return streams_.size() >= count; });
    return streams_;
  }
  bool waitClosed(std::size_t count) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, kHangGuard, [&] { return closed_ >= count; });
  }
  std::size_t closedCount() {
    const std::lock_guard lock(mutex_);
    return closed_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::shared_ptr<Stream>> streams_;
  std::size_t closed_ = 0;
};

class Http2ServerTest : public ::testing::TestWithParam<unsigned> {
 protected:
  static void SetUpTestSuite() { certificates_ = std::make_unique<TestCertificates>(); }
  static void TearDownTestSuite() { certificates_.reset(); }
  static const TestCertificates& certs() { return *certificates_; }

  ServerOptions options() const {
    ServerOptions options;
    options.ioThreads = GetParam();
    options.bindAddress = "127.0.0.1";
    options.tls.certificateFile = certs().serverCert;
    options.tls.privateKeyFile = certs().serverKey;
    options.tls.clientCaFile = certs().caCert;
    options.workerThreads = 4;
    return options;
  }
  static ClientTls withCert() { return {certs().caCert, certs().clientCert, certs().clientKey}; }
  static ClientTls withoutCert() { return {certs().caCert, "", ""}; }

  void start(Handler handler) { start(options(), std::move(handler)); }
  void start(const ServerOptions& serverOptions, Handler handler) {
    server_ = startServer(serverOptions, std::move(handler));
    port_ = server_->port();
  }

  std::string curl(const std::string& arguments, const std::string& path) const {
    std::string command = "curl -sS --max-time 60 --cacert " + certs().caCert + " --cert " +
                          certs().clientCert + " --key " + certs().clientKey + " " + arguments +
                          " https://127.0.0.1:" + std::to_string(port_) + path + " 2>&1";
    std::string output;
    FILE* pipe = popen(command.c_str(), "r");  // NOLINT(cert-env33-c): runs curl on purpose
    if (pipe == nullptr) {
      return output;
    }
    char buffer[4096];
    std::size_t got = 0;
    while ((got = fread(buffer, 1, sizeof buffer, pipe)) > 0) {
      output.append(buffer, got);
    }
    pclose(pipe);
    return output;
  }

  std::unique_ptr<Server> server_;
  std::uint16_t port_ = 0;

 private:
  static std::unique_ptr<TestCertificates> certificates_;
};

std::unique_ptr<TestCertificates> Http2ServerTest::certificates_;

TEST_P(Http2ServerTest, AlpnPrefersH2AndFallsBackToHttp11) {
  start(echo);
  EXPECT_EQ(TlsClient(port_, withCert(), {"http/1.1", "h2"}).alpn(), "h2")
      << "the server's preference wins";
  EXPECT_EQ(TlsClient(port_, withCert(), {"http/1.1"}).alpn(), "http/1.1");
  TlsClient noAlpn(port_, withCert(), {});
  EXPECT_EQ(noAlpn.alpn(), "");
  noAlpn.send("GET /plain HTTP/1.1\r\nHost: h\r\n\r\n");
  EXPECT_NE(noAlpn.readReply().body.find("path=/plain\n"), std::string::npos)
      << "no ALPN means HTTP/1.1";

  server_->stop();
  auto withoutHttp2 = options();
  withoutHttp2.enableHttp2 = false;
  start(withoutHttp2, echo);
  TlsClient client(port_, withCert(), {"h2", "http/1.1"});
  EXPECT_EQ(client.alpn(), "http/1.1");
  client.send("GET /one HTTP/1.1\r\nHost: h\r\n\r\n");
  EXPECT_EQ(client.readReply().status, 200);
}

TEST_P(Http2ServerTest, GetAndPostWithBodies) {
  start(echo);
  H2Client client(port_, withCert());
  const H2Reply got = client.fetch("GET", "/hello/world?x=1", {{"x-test", "yes"}});
  EXPECT_EQ(got.status, 200);
  EXPECT_TRUE(got.ended);
  EXPECT_NE(got.body.find("method=GET\n"), std::string::npos) << got.body;
  EXPECT_NE(got.body.find("path=/hello/world\n"), std::string::npos);
  EXPECT_NE(got.body.find("query=x=1\n"), std::string::npos);
  EXPECT_NE(got.body.find("x-test=yes\n"), std::string::npos);
  EXPECT_NE(got.body.find("host=127.0.0.1\n"), std::string::npos) << ":authority as host";
  EXPECT_EQ(got.header("content-type"), "text/plain") << "response names are lower-cased";
  EXPECT_EQ(got.header("content-length"), std::to_string(got.body.size()));

  const std::string payload(std::size_t{2} * 1024 * 1024 + 7, 'p');  // past every window
  const H2Reply posted = client.fetch("POST", "/things", {}, payload);
  EXPECT_EQ(posted.status, 200);
  EXPECT_NE(posted.body.find("method=POST\n"), std::string::npos);
  EXPECT_EQ(bodyOf(posted.body), payload);

  const H2Reply head = client.fetch("HEAD", "/h");
  EXPECT_EQ(head.status, 200);
  EXPECT_TRUE(head.body.empty());
  EXPECT_NE(head.header("content-length"), std::nullopt);
  EXPECT_EQ(client.peerMaxConcurrentStreams(), 250U);
}

TEST_P(Http2ServerTest, PathIsDecodedAndBadPathsAre400WithoutEndingTheConnection) {
  std::atomic<int> calls{0};
  start([&](Request& request, const std::shared_ptr<Responder>& responder) {
    ++calls;
    echo(request, responder);
  });
  H2Client client(port_, withCert());
  const H2Reply reply =
      client.fetch("GET", "/api/v1/namespaces/a%20b/pods%2Fx?labelSelector=app%3Dweb&watch=1");
  EXPECT_NE(reply.body.find("path=/api/v1/namespaces/a b/pods/x\n"), std::string::npos)
      << reply.body;
  EXPECT_NE(reply.body.find("query=labelSelector=app%3Dweb&watch=1\n"), std::string::npos);
  for (const char* bad : {"/a%00b", "/a%zz", "/a%4"}) {
    EXPECT_EQ(client.fetch("GET", bad).status, 400) << bad;
  }
  EXPECT_EQ(client.fetch("GET", "/still/here").status, 200);
  EXPECT_EQ(calls.load(), 2);
}

TEST_P(Http2ServerTest, ConcurrentStreamsOnOneConnection) {
  constexpr std::size_t kStreams = 20;
  std::mutex mutex;
  std::condition_variable allHeld;
  std::vector<std::pair<std::string, std::shared_ptr<Responder>>> held;
  start([&](Request& request, const std::shared_ptr<Responder>& responder) {
    const std::lock_guard lock(mutex);
    held.emplace_back(request.path + " " + request.remoteAddress, responder);
    allHeld.notify_all();
  });
  H2Client client(port_, withCert());
  std::vector<std::int32_t> ids;
  for (std::size_t i = 0; i < kStreams; ++i) {
    ids.push_back(client.submit("GET", "/held/" + std::to_string(i)));
  }
  // Every request reaches a handler before any is answered: they are all open at once.
  std::thread answerer([&] {
    std::unique_lock lock(mutex);
    allHeld.wait_for(lock, kHangGuard, [&] { return held.size() == kStreams; });
    for (auto& [what, responder] : held) {
      responder->respond(text(200, what));
    }
  });
  EXPECT_TRUE(client.runUntil([&] {
    return std::all_of(ids.begin(), ids.end(), [&](auto id) { return client.reply(id).closed; });
  }));
  answerer.join();
  std::string remote;
  for (std::size_t i = 0; i < kStreams; ++i) {
    const auto& reply = client.reply(ids[i]);
    EXPECT_EQ(reply.status, 200);
    const std::string prefix = "/held/" + std::to_string(i) + " ";
    ASSERT_EQ(reply.body.rfind(prefix, 0), 0U) << reply.body;
    if (i == 0) {
      remote = reply.body.substr(prefix.size());
    }
    EXPECT_EQ(reply.body.substr(prefix.size()), remote) << "one connection carried them all";
  }
}

TEST_P(Http2ServerTest, LongStreamDeliversEveryChunkThenTheConnectionGoesOn) {
  constexpr int kChunks = 5000;
  std::vector<std::thread> writers;
  std::mutex writersMutex;
  start([&](Request& request, const std::shared_ptr<Responder>& responder) {
    if (request.path != "/watch") {
      echo(request, responder);
      return;
    }
    auto stream = responder->startStream(
        200, {{"content-type", "application/json"}, {"transfer-encoding", "chunked"}});
    const std::lock_guard lock(writersMutex);
    writers.emplace_back([stream] {
      for (int i = 0; i < kChunks; ++i) {
        std::string event = R"({"type":"ADDED","n":)";
        event.append(std::to_string(i)).append("}\n");
        ASSERT_TRUE(stream->write(std::move(event)));
      }
      stream->close();
    });
  });
  H2Client client(port_, withCert());
  const auto id = client.submit("GET", "/watch");
  const auto other = client.submit("GET", "/beside");
  EXPECT_TRUE(client.runUntil([&] { return client.reply(id).closed; }));
  const auto& reply = client.reply(id);
  EXPECT_EQ(reply.status, 200);
  EXPECT_TRUE(reply.ended);
  EXPECT_FALSE(reply.reset);
  EXPECT_EQ(reply.header("content-type"), "application/json");
  EXPECT_EQ(reply.header("transfer-encoding"), std::nullopt) << "no chunking in HTTP/2";
  std::string expected;
  for (int i = 0; i < kChunks; ++i) {
    expected.append(R"({"type":"ADDED","n":)").append(std::to_string(i)).append("}\n");
  }
  EXPECT_EQ(reply.body, expected);
  EXPECT_TRUE(client.runUntil([&] { return client.reply(other).closed; }));
  EXPECT_EQ(client.reply(other).status, 200);
  EXPECT_EQ(client.fetch("GET", "/after").status, 200);
  const std::lock_guard lock(writersMutex);
  for (auto& writer : writers) {
    writer.join();
  }
}

TEST_P(Http2ServerTest, ClientResetFiresOnCloseAndOtherStreamsGoOn) {
  StreamBoard board;
  start([&](Request& request, const std::shared_ptr<Responder>& responder) {
    if (request.path == "/watch") {
      board.add(responder->startStream(200, {}));
    } else {
      echo(request, responder);
    }
  });
  H2Client client(port_, withCert());
  const auto first = client.submit("GET", "/watch");
  const auto second = client.submit("GET", "/watch");
  client.runUntil([] { return true; });  // sends them
  auto streams = board.waitFor(2);
  ASSERT_EQ(streams.size(), 2U);
  for (const auto& stream : streams) {
    ASSERT_TRUE(stream->write("hello\n"));
  }
  EXPECT_TRUE(client.runUntil([&] {
    return client.reply(first).body == "hello\n" && client.reply(second).body == "hello\n";
  }));
  client.reset(first);
  EXPECT_TRUE(board.waitClosed(1));
  EXPECT_EQ(board.closedCount(), 1U);
  // Which of the two was reset depends on which handler ran first.
  const auto& resetStream = streams[0]->closed() ? streams[0] : streams[1];
  const auto& openStream = streams[0]->closed() ? streams[1] : streams[0];
  EXPECT_FALSE(resetStream->write("after\n"));
  bool ranAtOnce = false;
  resetStream->onClose([&] { ranAtOnce = true; });
  EXPECT_TRUE(ranAtOnce);
  ASSERT_TRUE(openStream->write("still\n"));
  openStream->close();
  EXPECT_TRUE(client.runUntil([&] { return client.reply(second).closed; }));
  EXPECT_EQ(client.reply(second).body, "hello\nstill\n");
  EXPECT_TRUE(client.reply(second).ended);
  EXPECT_TRUE(board.waitClosed(2));
  EXPECT_EQ(client.fetch("GET", "/after").status, 200);
}

TEST_P(Http2ServerTest, ConnectionLossFiresOnClose) {
  StreamBoard board;
  start([&](Request& /*request*/, const std::shared_ptr<Responder>& responder) {
    board.add(responder->startStream(200, {}));
  });
  {
    H2Client client(port_, withCert());
    client.submit("GET", "/a");
    client.submit("GET", "/b");
    client.runUntil([&] { return board.waitFor(2).size() == 2; });
  }  // the client goes away without a GOAWAY
  EXPECT_TRUE(board.waitClosed(2));
}

TEST_P(Http2ServerTest, BodyOverTheLimitIs413AndTheConnectionGoesOn) {
  auto serverOptions = options();
  serverOptions.maxBodyBytes = 1000;
  std::atomic<int> calls{0};
  start(serverOptions, [&](Request& request, const std::shared_ptr<Responder>& responder) {
    ++calls;
    echo(request, responder);
  });
  H2Client client(port_, withCert());
  // Without a content-length: found while the DATA arrives.
  EXPECT_EQ(client.fetch("POST", "/big", {}, std::string(std::size_t{300} * 1024, 'b')).status,
            413);
  // Announced: answered before the body.
  EXPECT_EQ(
      client.fetch("POST", "/big", {{"content-length", "5000"}}, std::string(5000, 'c')).status,
      413);
  EXPECT_EQ(calls.load(), 0);
  const H2Reply small = client.fetch("POST", "/small", {}, std::string(1000, 's'));
  EXPECT_EQ(small.status, 200);
  EXPECT_EQ(bodyOf(small.body), std::string(1000, 's'));
}

TEST_P(Http2ServerTest, HeadersOverTheLimitAre431) {
  auto serverOptions = options();
  serverOptions.maxHeaderBytes = std::size_t{8} * 1024;
  std::atomic<int> calls{0};
  start(serverOptions, [&](Request& request, const std::shared_ptr<Responder>& responder) {
    ++calls;
    echo(request, responder);
  });
  H2Client client(port_, withCert());
  EXPECT_EQ(client.fetch("GET", "/", {{"x-big", std::string(std::size_t{10} * 1024, 'h')}}).status,
            431);
  EXPECT_EQ(calls.load(), 0);
  EXPECT_EQ(client.fetch("GET", "/fine").status, 200);
}

TEST_P(Http2ServerTest, ClientCertificateGivesIdentity) {
  std::mutex mutex;
  std::vector<std::optional<PeerIdentity>> seen;
  start([&](Request& request, const std::shared_ptr<Responder>& responder) {
    {
      const std::lock_guard lock(mutex);
      seen.push_back(request.peer);
    }
    responder->respond(text(200, "ok"));
  });
  {
    H2Client client(port_, withCert());
    EXPECT_EQ(client.fetch("GET", "/whoami").status, 200);
    EXPECT_EQ(client.fetch("GET", "/whoami").status, 200);
  }
  {
    H2Client anonymous(port_, withoutCert());
    EXPECT_EQ(anonymous.fetch("GET", "/whoami").status, 200);
  }
  const std::lock_guard lock(mutex);
  ASSERT_EQ(seen.size(), 3U);
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(seen[i].has_value());
    EXPECT_EQ(seen[i]->commonName, "alice");
    EXPECT_EQ(seen[i]->organizations, (std::vector<std::string>{"system:masters", "team a"}));
  }
  EXPECT_FALSE(seen[2].has_value());
}

// A client that stops reading one stream (its flow-control window stays shut) fills that
// stream's queue: that stream is reset, the connection and its other streams go on.
TEST_P(Http2ServerTest, SlowStreamReaderIsResetAlone) {
  auto serverOptions = options();
  serverOptions.maxStreamQueueBytes = std::size_t{256} * 1024;
  StreamBoard board;
  start(serverOptions, [&](Request& request, const std::shared_ptr<Responder>& responder) {
    if (request.path == "/watch") {
      board.add(responder->startStream(200, {}));
    } else {
      echo(request, responder);
    }
  });
  H2Options slow;
  slow.autoWindowUpdate = false;
  H2Client client(port_, withCert(), slow);
  const auto id = client.submit("GET", "/watch");
  client.runUntil([&] { return client.reply(id).status != 0; });
  auto streams = board.waitFor(1);
  ASSERT_EQ(streams.size(), 1U);
  const std::string piece(std::size_t{64} * 1024, 'z');
  bool refused = false;
  for (int i = 0; i < 1000 && !refused; ++i) {
    refused = !streams[0]->write(piece);
  }
  EXPECT_TRUE(refused) << "the queue is bounded although the connection is fine";
  EXPECT_TRUE(board.waitClosed(1));
  EXPECT_TRUE(client.runUntil([&] { return client.reply(id).closed; }));
  EXPECT_TRUE(client.reply(id).reset);
  EXPECT_EQ(client.reply(id).resetCode, static_cast<std::uint32_t>(NGHTTP2_CANCEL));
  EXPECT_EQ(client.fetch("GET", "/after").status, 200);
}

TEST_P(Http2ServerTest, StopSendsGoAwayAndClosesOpenStreams) {
  StreamBoard board;
  start([&](Request& /*request*/, const std::shared_ptr<Responder>& responder) {
    board.add(responder->startStream(200, {}));
  });
  H2Client first(port_, withCert());
  H2Client second(port_, withoutCert());
  first.submit("GET", "/w/1");
  first.submit("GET", "/w/2");
  second.submit("GET", "/w/3");
  first.runUntil([] { return true; });
  second.runUntil([] { return true; });
  auto streams = board.waitFor(3);
  ASSERT_EQ(streams.size(), 3U);
  server_->stop();
  EXPECT_EQ(board.closedCount(), 3U) << "onClose ran before stop() returned";
  for (const auto& stream : streams) {
    EXPECT_TRUE(stream->closed());
    EXPECT_FALSE(stream->write("late\n"));
  }
  for (H2Client* client : {&first, &second}) {
    client->runUntil([&] { return client->ended(); });
    EXPECT_TRUE(client->goAwayReceived());
    EXPECT_EQ(client->goAwayCode(), static_cast<std::uint32_t>(NGHTTP2_NO_ERROR));
  }
  server_->stop();
}

TEST_P(Http2ServerTest, IdleConnectionGetsGoAwayAndIsClosed) {
  auto serverOptions = options();
  serverOptions.idleTimeout = std::chrono::seconds(1);
  start(serverOptions, echo);
  H2Client client(port_, withCert());
  EXPECT_EQ(client.fetch("GET", "/once").status, 200);
  client.runUntil([&] { return client.ended(); });
  EXPECT_TRUE(client.goAwayReceived());
}

TEST_P(Http2ServerTest, HandlerThatThrowsOrDropsTheResponderGets500) {
  start([](Request& request, const std::shared_ptr<Responder>& /*responder*/) {
    if (request.path == "/throw") {
      throw std::runtime_error("handler bug");
    }
    // /drop: returns without answering and without keeping the responder.
  });
  H2Client client(port_, withCert());
  EXPECT_EQ(client.fetch("GET", "/throw").status, 500);
  EXPECT_EQ(client.fetch("GET", "/drop").status, 500);
}

TEST_P(Http2ServerTest, CurlNegotiatesHttp2) {
  start([](Request& request, const std::shared_ptr<Responder>& responder) {
    std::string who = request.peer ? request.peer->commonName : "anonymous";
    who.append(" ").append(request.method).append(" ").append(std::to_string(request.body.size()));
    who.append(" ").append(request.path).append("\n");
    responder->respond(text(200, who));
  });
  const std::string upload = certs().dir + "/upload-h2.bin";
  {
    std::ofstream file(upload, std::ios::binary);
    file << std::string(std::size_t{2} * 1024 * 1024, 'u');
  }
  EXPECT_EQ(curl("--http2 -w '%{http_version}'", "/smoke"), "alice GET 0 /smoke\n2");
  EXPECT_EQ(curl("--http2 -w '%{http_version}' --data-binary @" + upload, "/smoke"),
            "alice POST 2097152 /smoke\n2");
  EXPECT_EQ(curl("--http1.1 -w '%{http_version}'", "/smoke"), "alice GET 0 /smoke\n1.1");
  // Two URLs on one command line share one connection, multiplexed: one of them connected,
  // the other did not (num_connects 1 and 0); the order of the output lines varies.
  const std::string both =
      curl("--http2 --parallel --no-progress-meter -w '%{http_version} %{num_connects}\\n'",
           "/a https://127.0.0.1:" + std::to_string(port_) + "/b");
  for (const char* line : {"alice GET 0 /a\n", "alice GET 0 /b\n", "2 1\n", "2 0\n"}) {
    EXPECT_NE(both.find(line), std::string::npos) << line << " in " << both;
  }
  std::remove(upload.c_str());
}

INSTANTIATE_TEST_SUITE_P(IoThreads, Http2ServerTest, ::testing::Values(1U, 2U));

}  // namespace
}  // namespace kite::http
