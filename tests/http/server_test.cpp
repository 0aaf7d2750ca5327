// kite's HTTPS server over real TLS on loopback, with throwaway certificates.

#include "kite/http/server.h"

#include <gtest/gtest.h>
#include <httplib.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <future>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "test_certificates.h"
#include "tls_client.h"

namespace kite::http {
namespace {

using testing::ClientTls;
using testing::Reply;
using testing::TestCertificates;
using testing::TlsClient;

// Generous bound for waits that only guard against a hang; correctness never depends on it.
constexpr auto kHangGuard = std::chrono::seconds(60);

std::string get(std::string_view path) {
  std::string request = "GET ";
  request.append(path).append(" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  return request;
}

Response text(int status, std::string body) {
  Response response;
  response.status = status;
  response.headers.emplace_back("content-type", "text/plain");
  response.body = std::move(body);
  return response;
}

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

// Every case runs with one io thread and with two (connections then live on different
// threads, so strand mistakes show).
class HttpServerTest : public ::testing::TestWithParam<unsigned> {
 protected:
  static void SetUpTestSuite() { certificates_ = std::make_unique<TestCertificates>(); }
  static void TearDownTestSuite() { certificates_.reset(); }

  static const TestCertificates& certs() { return *certificates_; }

  ServerOptions options() const {
    ServerOptions options;
    options.ioThreads = GetParam();
    options.bindAddress = "127.0.0.1";
    options.port = 0;
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

  std::unique_ptr<Server> server_;
  std::uint16_t port_ = 0;

 private:
  static std::unique_ptr<TestCertificates> certificates_;
};

std::unique_ptr<TestCertificates> HttpServerTest::certificates_;

// Answers with what the server made of the request.
void echo(Request& request, const std::shared_ptr<Responder>& responder) {
  std::string body;
  body.append("method=").append(request.method).append("\n");
  body.append("path=").append(request.path).append("\n");
  body.append("query=").append(request.query).append("\n");
  body.append("target=").append(request.target).append("\n");
  body.append("remote=").append(request.remoteAddress).append("\n");
  if (auto agent = request.header("x-test")) {
    body.append("x-test=").append(*agent).append("\n");
  }
  body.append("body=").append(request.body);
  responder->respond(text(200, std::move(body)));
}

TEST_P(HttpServerTest, PortZeroPicksAFreePort) {
  start(echo);
  EXPECT_NE(port_, 0);
}

TEST_P(HttpServerTest, GetAndPostWithBodiesThroughHttplib) {
  start(echo);
  httplib::SSLClient client("127.0.0.1", port_, certs().clientCert, certs().clientKey);
  client.set_ca_cert_path(certs().caCert);
  client.enable_server_certificate_verification(true);

  auto got = client.Get("/hello/world?x=1", {{"X-Test", "yes"}});
  ASSERT_TRUE(got) << httplib::to_string(got.error());
  EXPECT_EQ(got->status, 200);
  EXPECT_NE(got->body.find("method=GET\n"), std::string::npos) << got->body;
  EXPECT_NE(got->body.find("path=/hello/world\n"), std::string::npos);
  EXPECT_NE(got->body.find("query=x=1\n"), std::string::npos);
  EXPECT_NE(got->body.find("x-test=yes\n"), std::string::npos) << "header names are lower-case";
  EXPECT_EQ(got->get_header_value("content-type"), "text/plain");

  const std::string payload(200000, 'p');
  auto posted = client.Post("/things", payload, "application/octet-stream");
  ASSERT_TRUE(posted) << httplib::to_string(posted.error());
  EXPECT_EQ(posted->status, 200);
  EXPECT_NE(posted->body.find("method=POST\n"), std::string::npos);
  EXPECT_EQ(posted->body.substr(posted->body.find("body=") + 5), payload);
}

TEST_P(HttpServerTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  start(echo);
  TlsClient client(port_, withCert());
  EXPECT_EQ(client.alpn(), "http/1.1") << "a client offering only http/1.1 gets it";
  std::string remote;
  // Same-length requests one after another: a request replayed from stale buffer bytes would
  // show as a wrong path (this once happened with two io threads).
  for (int i = 0; i < 30; ++i) {
    client.send(get("/n/" + std::to_string(i % 10)));
    const Reply reply = client.readReply();
    ASSERT_EQ(reply.status, 200);
    EXPECT_NE(reply.body.find("path=/n/" + std::to_string(i % 10) + "\n"), std::string::npos)
        << reply.body;
    const auto at = reply.body.find("remote=");
    const std::string thisRemote = reply.body.substr(at, reply.body.find('\n', at) - at);
    if (i == 0) {
      remote = thisRemote;
    }
    EXPECT_EQ(thisRemote, remote) << "all requests came over one connection";
  }
  // Pipelined: three requests in one write, answered in order.
  client.send(get("/p/1") + get("/p/2") + get("/p/3"));
  for (int i = 1; i <= 3; ++i) {
    const Reply reply = client.readReply();
    EXPECT_NE(reply.body.find("path=/p/" + std::to_string(i) + "\n"), std::string::npos);
  }
}

TEST_P(HttpServerTest, PostBodyWithExpectContinue) {
  start(echo);
  TlsClient client(port_, withCert());
  const std::string payload(100000, 'x');
  client.send("POST /up HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: " +
              std::to_string(payload.size()) + "\r\n\r\n");
  EXPECT_EQ(client.readHead().status, 100);
  client.send(payload);
  const Reply reply = client.readReply();
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.body.substr(reply.body.find("body=") + 5), payload);
}

TEST_P(HttpServerTest, BodyOverTheLimitIs413) {
  std::atomic<int> calls{0};
  start([&](Request& request, const std::shared_ptr<Responder>& responder) {
    ++calls;
    echo(request, responder);
  });
  TlsClient client(port_, withCert());
  client.send("POST /big HTTP/1.1\r\nHost: h\r\nContent-Length: " +
              std::to_string(4 * 1024 * 1024) + "\r\n\r\n");
  const Reply reply = client.readReply();
  EXPECT_EQ(reply.status, 413);
  EXPECT_EQ(reply.header("connection"), "close");
  EXPECT_TRUE(client.waitClosed());
  EXPECT_EQ(calls.load(), 0);
}

// The client keeps sending the body it announced after the server has answered 413: the
// answer must still reach it (the server half-closes and drains instead of resetting).
TEST_P(HttpServerTest, UploadAnsweredWith413StillGetsTheAnswer) {
  start(echo);
  TlsClient client(port_, withCert());
  client.send("POST /big HTTP/1.1\r\nHost: h\r\nContent-Length: " +
              std::to_string(std::size_t{8} * 1024 * 1024) + "\r\n\r\n");
  client.send(std::string(std::size_t{1024} * 1024, 'b'));
  EXPECT_EQ(client.readReply().status, 413);
}

TEST_P(HttpServerTest, ChunkedBodyOverTheLimitIs413) {
  auto serverOptions = options();
  serverOptions.maxBodyBytes = 1000;
  start(serverOptions, echo);
  TlsClient client(port_, withCert());
  client.send("POST /big HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n");
  client.send("258\r\n" + std::string(600, 'a') + "\r\n258\r\n" + std::string(600, 'b') +
              "\r\n0\r\n\r\n");
  EXPECT_EQ(client.readReply().status, 413);
}

TEST_P(HttpServerTest, HeadersOverTheLimitAre431) {
  start(echo);
  TlsClient client(port_, withCert());
  client.send("GET / HTTP/1.1\r\nHost: h\r\nX-Big: " + std::string(std::size_t{70} * 1024, 'h') +
              "\r\n\r\n");
  EXPECT_EQ(client.readReply().status, 431);
}

TEST_P(HttpServerTest, GarbageIs400) {
  std::atomic<int> calls{0};
  start([&](Request& request, const std::shared_ptr<Responder>& responder) {
    ++calls;
    echo(request, responder);
  });
  {
    TlsClient client(port_, withCert());
    client.send("THIS IS NOT HTTP\r\n\r\n");
    EXPECT_EQ(client.readReply().status, 400);
    EXPECT_TRUE(client.waitClosed());
  }
  {
    TlsClient client(port_, withCert());
    client.send("GET / HTTP/1.1\r\nHost: h\r\nno colon here\r\n\r\n");
    EXPECT_EQ(client.readReply().status, 400);
  }
  EXPECT_EQ(calls.load(), 0);
}

TEST_P(HttpServerTest, PathIsDecodedAndQueryKeptRaw) {
  std::atomic<int> calls{0};
  start([&](Request& request, const std::shared_ptr<Responder>& responder) {
    ++calls;
    echo(request, responder);
  });
  TlsClient client(port_, withCert());
  client.send(get("/api/v1/namespaces/a%20b/pods%2Fx?labelSelector=app%3Dweb&watch=1"));
  const Reply reply = client.readReply();
  EXPECT_NE(reply.body.find("path=/api/v1/namespaces/a b/pods/x\n"), std::string::npos)
      << reply.body;
  EXPECT_NE(reply.body.find("query=labelSelector=app%3Dweb&watch=1\n"), std::string::npos);
  EXPECT_NE(reply.body.find("target=/api/v1/namespaces/a%20b/pods%2Fx?labelSelector"),
            std::string::npos);

  for (const char* bad : {"/a%00b", "/a%zz", "/a%4", "relative/path"}) {
    TlsClient other(port_, withCert());
    other.send(get(bad));
    EXPECT_EQ(other.readReply().status, 400) << bad;
  }
  EXPECT_EQ(calls.load(), 1);
}

TEST_P(HttpServerTest, ClientCertificateGivesIdentity) {
  std::promise<std::optional<PeerIdentity>> seen;
  start([&](Request& request, const std::shared_ptr<Responder>& responder) {
    seen.set_value(request.peer);
    responder->respond(text(200, "ok"));
  });
  TlsClient client(port_, withCert());
  client.send(get("/whoami"));
  EXPECT_EQ(client.readReply().status, 200);
  const auto peer = seen.get_future().get();
  ASSERT_TRUE(peer.has_value());
  EXPECT_EQ(peer->commonName, "alice");
  EXPECT_EQ(peer->organizations, (std::vector<std::string>{"system:masters", "team a"}));
}

TEST_P(HttpServerTest, NoClientCertificateNoPeer) {
  std::promise<std::optional<PeerIdentity>> seen;
  start([&](Request& request, const std::shared_ptr<Responder>& responder) {
    seen.set_value(request.peer);
    responder->respond(text(200, "ok"));
  });
  TlsClient client(port_, withoutCert());
  client.send(get("/whoami"));
  EXPECT_EQ(client.readReply().status, 200);
  EXPECT_FALSE(seen.get_future().get().has_value());
}

TEST_P(HttpServerTest, CertificateFromAnotherCaIsRefused) {
  std::atomic<int> calls{0};
  start([&](Request& request, const std::shared_ptr<Responder>& responder) {
    ++calls;
    echo(request, responder);
  });
  const ClientTls foreign{certs().caCert, certs().otherClientCert, certs().otherClientKey};
  // With TLS 1.3 the client may finish its side of the handshake before the server rejects
  // the certificate; the refusal then shows on the first read.
  bool served = false;
  try {
    TlsClient client(port_, foreign);
    client.send(get("/x"));
    served = client.readReply().status == 200;
  } catch (const std::exception&) {
    served = false;
  }
  EXPECT_FALSE(served);
  EXPECT_EQ(calls.load(), 0);
}

TEST_P(HttpServerTest, RespondsFromAnotherThreadAfterTheHandlerReturned) {
  std::promise<std::shared_ptr<Responder>> handed;
  std::atomic<bool> handlerReturned{false};
  start([&](Request& /*request*/, const std::shared_ptr<Responder>& responder) {
    handed.set_value(responder);
    handlerReturned = true;
  });
  TlsClient client(port_, withCert());
  client.send(get("/later"));
  std::thread answerer([&] {
    auto responder = handed.get_future().get();
    while (!handlerReturned.load()) {
      std::this_thread::yield();
    }
    responder->respond(text(201, "answered later"));
  });
  const Reply reply = client.readReply();
  answerer.join();
  EXPECT_EQ(reply.status, 201);
  EXPECT_EQ(reply.body, "answered later");
}

TEST_P(HttpServerTest, HandlerThatThrowsOrDropsTheResponderGets500) {
  start([](Request& request, const std::shared_ptr<Responder>& /*responder*/) {
    if (request.path == "/throw") {
      throw std::runtime_error("boom");
    }
    // /drop: returns without answering and without keeping the responder.
  });
  TlsClient client(port_, withCert());
  client.send(get("/throw"));
  EXPECT_EQ(client.readReply().status, 500);
  client.send(get("/drop"));
  EXPECT_EQ(client.readReply().status, 500);
}

TEST_P(HttpServerTest, StreamOfManyChunksIsReadFullyThenTheConnectionIsReused) {
  constexpr int kChunks = 5000;
  std::vector<std::thread> writers;
  std::mutex writersMutex;
  start([&](Request& request, const std::shared_ptr<Responder>& responder) {
    if (request.path != "/watch") {
      echo(request, responder);
      return;
    }
    auto stream = responder->startStream(200, {{"content-type", "application/json"}});
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
  TlsClient client(port_, withCert());
  client.send(get("/watch"));
  const Reply head = client.readHead();
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.header("transfer-encoding"), "chunked");
  EXPECT_EQ(head.header("content-type"), "application/json");
  std::string all;
  while (auto chunk = client.readChunk()) {
    all.append(*chunk);
  }
  std::string expected;
  for (int i = 0; i < kChunks; ++i) {
    expected.append(R"({"type":"ADDED","n":)").append(std::to_string(i)).append("}\n");
  }
  EXPECT_EQ(all, expected);
  client.send(get("/after"));
  EXPECT_NE(client.readReply().body.find("path=/after\n"), std::string::npos);
  const std::lock_guard lock(writersMutex);
  for (auto& writer : writers) {
    writer.join();
  }
}

TEST_P(HttpServerTest, ClientDisconnectFiresOnClose) {
  StreamBoard board;
  start([&](Request& /*request*/, const std::shared_ptr<Responder>& responder) {
    board.add(responder->startStream(200, {}));
  });
  TlsClient client(port_, withCert());
  client.send(get("/watch"));
  EXPECT_EQ(client.readHead().status, 200);
  auto streams = board.waitFor(1);
  ASSERT_EQ(streams.size(), 1U);
  ASSERT_TRUE(streams[0]->write("hello\n"));
  EXPECT_EQ(client.readChunk(), "hello\n");
  client.disconnect();
  EXPECT_TRUE(board.waitClosed(1));
  EXPECT_TRUE(streams[0]->closed());
  EXPECT_FALSE(streams[0]->write("after\n"));
  // Registered after the close: runs at once.
  bool ranAtOnce = false;
  streams[0]->onClose([&] { ranAtOnce = true; });
  EXPECT_TRUE(ranAtOnce);
}

TEST_P(HttpServerTest, SlowReaderOverflowsItsQueue) {
  auto serverOptions = options();
  serverOptions.maxStreamQueueBytes = std::size_t{256} * 1024;
  StreamBoard board;
  start(serverOptions, [&](Request& /*request*/, const std::shared_ptr<Responder>& responder) {
    board.add(responder->startStream(200, {}));
  });
  TlsClient client(port_, withCert());
  client.send(get("/watch"));  // and never read
  auto streams = board.waitFor(1);
  ASSERT_EQ(streams.size(), 1U);
  const std::string piece(std::size_t{64} * 1024, 'z');
  bool refused = false;
  // Loopback socket buffers hold a few MiB; far fewer pieces than this overflow the queue.
  for (int i = 0; i < 100000 && !refused; ++i) {
    refused = !streams[0]->write(piece);
  }
  EXPECT_TRUE(refused);
  EXPECT_TRUE(streams[0]->closed());
  EXPECT_TRUE(board.waitClosed(1));
  EXPECT_TRUE(client.waitClosed());
}

// The queue limit counts bytes not yet handed to the socket, not bytes ever written: a writer
// that waits for the reader may send many times the limit. (With the limit at two pieces,
// one piece whose write completion has not run yet plus the next one always fit.)
TEST_P(HttpServerTest, StreamQueueCountsOnlyUnsentBytes) {
  constexpr std::size_t kPiece = std::size_t{32} * 1024;
  auto serverOptions = options();
  serverOptions.maxStreamQueueBytes = 2 * kPiece;
  StreamBoard board;
  start(serverOptions, [&](Request& /*request*/, const std::shared_ptr<Responder>& responder) {
    board.add(responder->startStream(200, {}));
  });
  TlsClient client(port_, withCert());
  client.send(get("/watch"));
  auto streams = board.waitFor(1);
  ASSERT_EQ(streams.size(), 1U);
  EXPECT_EQ(client.readHead().status, 200);
  for (int i = 0; i < 100; ++i) {
    const std::string piece(kPiece, static_cast<char>('a' + i % 26));
    ASSERT_TRUE(streams[0]->write(piece)) << "piece " << i;
    ASSERT_EQ(client.readChunk(), piece);
  }
  streams[0]->close();
  EXPECT_EQ(client.readChunk(), std::nullopt);
}

TEST_P(HttpServerTest, FiveHundredStreamsAllGetTheEvent) {
  constexpr std::size_t kClients = 500;
  // Both ends live in this process: about two descriptors per client.
  rlimit files{};
  getrlimit(RLIMIT_NOFILE, &files);
  if (files.rlim_cur < 4 * kClients) {
    files.rlim_cur = std::min<rlim_t>(files.rlim_max, 4 * kClients);
    setrlimit(RLIMIT_NOFILE, &files);
  }
  if (files.rlim_cur < 2 * kClients + 100) {
    GTEST_SKIP() << "needs " << 2 * kClients + 100 << " open files, the limit is "
                 << files.rlim_cur;
  }
  StreamBoard board;
  start([&](Request& /*request*/, const std::shared_ptr<Responder>& responder) {
    board.add(responder->startStream(200, {{"content-type", "application/json"}}));
  });
  std::vector<std::unique_ptr<TlsClient>> clients;
  clients.reserve(kClients);
  for (std::size_t i = 0; i < kClients; ++i) {
    clients.push_back(std::make_unique<TlsClient>(port_, withoutCert()));
    clients.back()->send(get("/api/v1/pods?watch=1"));
  }
  auto streams = board.waitFor(kClients);
  ASSERT_EQ(streams.size(), kClients);
  const std::string event = R"({"type":"MODIFIED","object":{"kind":"Pod"}})"
                            "\n";
  for (const auto& stream : streams) {
    EXPECT_TRUE(stream->write(event));
  }
  std::size_t received = 0;
  for (const auto& client : clients) {
    EXPECT_EQ(client->readHead().status, 200);
    if (client->readChunk() == event) {
      ++received;
    }
  }
  EXPECT_EQ(received, kClients);
  for (const auto& stream : streams) {
    stream->close();
  }
  for (const auto& client : clients) {
    EXPECT_EQ(client->readChunk(), std::nullopt);
  }
  EXPECT_TRUE(board.waitClosed(kClients));
}

TEST_P(HttpServerTest, StopClosesOpenStreamsAndIsIdempotent) {
  StreamBoard board;
  start([&](Request& /*request*/, const std::shared_ptr<Responder>& responder) {
    board.add(responder->startStream(200, {}));
  });
  std::vector<std::unique_ptr<TlsClient>> clients;
  for (int i = 0; i < 3; ++i) {
    clients.push_back(std::make_unique<TlsClient>(port_, withCert()));
    clients.back()->send(get("/watch"));
  }
  auto streams = board.waitFor(3);
  ASSERT_EQ(streams.size(), 3U);
  server_->stop();
  EXPECT_EQ(board.closedCount(), 3U) << "onClose ran before stop() returned";
  for (const auto& stream : streams) {
    EXPECT_TRUE(stream->closed());
    EXPECT_FALSE(stream->write("late\n"));
  }
  server_->stop();
  for (const auto& client : clients) {
    EXPECT_TRUE(client->waitClosed());
  }
  server_.reset();  // the destructor stops again
}

TEST_P(HttpServerTest, SilentClientIsDroppedAfterTheHandshakeTimeout) {
  auto serverOptions = options();
  serverOptions.handshakeTimeout = std::chrono::seconds(1);
  start(serverOptions, echo);
  EXPECT_TRUE(testing::silentClientIsDropped(port_));
}

TEST_P(HttpServerTest, IdleKeepAliveConnectionIsClosed) {
  auto serverOptions = options();
  serverOptions.idleTimeout = std::chrono::seconds(1);
  start(serverOptions, echo);
  TlsClient client(port_, withCert());
  client.send(get("/once"));
  EXPECT_EQ(client.readReply().status, 200);
  EXPECT_TRUE(client.waitClosed());
}

TEST_P(HttpServerTest, Http10RequestIsAnsweredAndClosed) {
  start(echo);
  TlsClient client(port_, withCert());
  client.send("GET /old HTTP/1.0\r\n\r\n");
  const Reply reply = client.readReply();
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.header("connection"), "close");
  EXPECT_TRUE(client.waitClosed());
}

TEST_P(HttpServerTest, BindFailureNamesTheAddress) {
  start(echo);
  auto serverOptions = options();
  serverOptions.port = port_;
  try {
    startServer(serverOptions, echo);
    FAIL() << "a second server bound the same port";
  } catch (const std::runtime_error& error) {
    EXPECT_NE(std::string(error.what()).find("127.0.0.1:" + std::to_string(port_)),
              std::string::npos)
        << error.what();
  }
  serverOptions.bindAddress = "not-an-address";
  try {
    startServer(serverOptions, echo);
    FAIL() << "an invalid address was accepted";
  } catch (const std::runtime_error& error) {
    EXPECT_NE(std::string(error.what()).find("not-an-address"), std::string::npos);
  }
}

TEST_P(HttpServerTest, CertificateProblemsNameTheFile) {
  auto serverOptions = options();
  serverOptions.tls.privateKeyFile = certs().dir + "/missing.key";
  try {
    startServer(serverOptions, echo);
    FAIL() << "a missing key was accepted";
  } catch (const std::runtime_error& error) {
    EXPECT_NE(std::string(error.what()).find(serverOptions.tls.privateKeyFile), std::string::npos)
        << error.what();
  }
  serverOptions = options();
  serverOptions.tls.privateKeyFile = certs().clientKey;  // not the server certificate's key
  try {
    startServer(serverOptions, echo);
    FAIL() << "a key that does not match the certificate was accepted";
  } catch (const std::runtime_error& error) {
    EXPECT_NE(std::string(error.what()).find(certs().clientKey), std::string::npos) << error.what();
  }
}

// curl (HTTP/2 by ALPN, as curl offers h2 first): client certificate and a large upload.
// HTTP/2 itself is tested in http2_test.cpp.
TEST_P(HttpServerTest, CurlSmoke) {
  start([](Request& request, const std::shared_ptr<Responder>& responder) {
    std::string who = request.peer ? request.peer->commonName : "anonymous";
    who.append(" ").append(request.method).append(" ").append(std::to_string(request.body.size()));
    responder->respond(text(200, who));
  });
  const std::string upload = certs().dir + "/upload.bin";
  {
    std::ofstream file(upload, std::ios::binary);
    file << std::string(std::size_t{2} * 1024 * 1024, 'u');
  }
  const auto curl = [&](const std::string& arguments) {
    std::string command = "curl -sS --max-time 60 --cacert " + certs().caCert + " --cert " +
                          certs().clientCert + " --key " + certs().clientKey + " " + arguments +
                          " https://127.0.0.1:" + std::to_string(port_) + "/smoke 2>&1";
    std::string output;
    FILE* pipe = popen(command.c_str(), "r");  // NOLINT(cert-env33-c)
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
  };
  EXPECT_EQ(curl(""), "alice GET 0");
  EXPECT_EQ(curl("--data-binary @" + upload), "alice POST 2097152");
}

INSTANTIATE_TEST_SUITE_P(IoThreads, HttpServerTest, ::testing::Values(1U, 2U));

}  // namespace
}  // namespace kite::http
