// Protocol upgrades (101 Switching Protocols) on the HTTPS server, and the outbound client
// connection that requests them: real TLS on loopback.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>

#include "h2_client.h"
#include "kite/http/client.h"
#include "kite/http/server.h"
#include "test_certificates.h"

namespace kite::http {
namespace {

using namespace std::chrono_literals;
using testing::TestCertificates;

// Collects what a tunnel delivers; waits with a deadline.
class Collector {
 public:
  void add(const std::string& data) {
    const std::lock_guard lock(mutex_);
    text_ += data;
    changed_.notify_all();
  }
  void end() {
    const std::lock_guard lock(mutex_);
    ended_ = true;
    changed_.notify_all();
  }
  bool waitFor(const std::string& wanted) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, 10s, [&] { return text_.find(wanted) != std::string::npos; });
  }
  bool waitEnded() {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, 10s, [&] { return ended_; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::string text_;
  bool ended_ = false;
};

class UpgradeTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { certificates_ = std::make_unique<TestCertificates>(); }
  static void TearDownTestSuite() { certificates_.reset(); }

  void startEchoServer(bool http2) {
    ServerOptions options;
    options.bindAddress = "127.0.0.1";
    options.tls.certificateFile = certificates_->serverCert;
    options.tls.privateKeyFile = certificates_->serverKey;
    options.enableHttp2 = http2;
    server_ = startServer(options, [](Request& request, std::shared_ptr<Responder> responder) {
      if (!isUpgradeRequest(request)) {
        responder->respond({200, {}, "plain\n"});
        return;
      }
      Response switching;
      switching.status = 101;
      switching.headers.emplace_back("upgrade", "echo/1");
      auto tunnel = responder->upgrade(std::move(switching));
      if (!tunnel) {
        return;
      }
      // Echoes every piece upper-cased until the client closes; "bye" closes from here.
      std::weak_ptr<Tunnel> weak = tunnel;
      tunnel->start(
          [weak](std::string data) {
            auto self = weak.lock();
            if (!self) return;
            if (data.find("bye") != std::string::npos) {
              self->write("BYE");
              self->close();
              return;
            }
            for (auto& c : data) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
            self->write(std::move(data));
          },
          [] {});
    });
  }

  std::shared_ptr<ClientConnection> connect(Response& head, std::string early = {}) {
    ClientTls tls;
    tls.caFile = certificates_->caCert;
    ClientRequest request;
    request.method = "POST";
    request.target = "/echo";
    request.headers = {{"connection", "Upgrade"}, {"upgrade", "echo/1"}};
    request.body = std::move(early);
    return ClientConnection::open("127.0.0.1", server_->port(), tls, request, 10s, head);
  }

  static std::unique_ptr<TestCertificates> certificates_;
  std::unique_ptr<Server> server_;
};

std::unique_ptr<TestCertificates> UpgradeTest::certificates_;

TEST_F(UpgradeTest, SwitchesProtocolsAndCarriesBytesBothWays) {
  startEchoServer(true);
  Response head;
  auto client = connect(head);
  EXPECT_EQ(head.status, 101);
  bool named = false;
  for (const auto& [name, value] : head.headers) {
    named = named || (name == "upgrade" && value == "echo/1");
  }
  EXPECT_TRUE(named);
  Collector got;
  client->start([&](std::string data) { got.add(data); }, [&] { got.end(); });
  EXPECT_TRUE(client->write("hello"));
  EXPECT_TRUE(got.waitFor("HELLO"));
  EXPECT_TRUE(client->write(" again"));
  EXPECT_TRUE(got.waitFor("HELLO AGAIN"));
  EXPECT_TRUE(client->write("bye"));
  EXPECT_TRUE(got.waitFor("BYE"));
  EXPECT_TRUE(got.waitEnded());  // the server closed its side
  client->close();
}

TEST_F(UpgradeTest, ClientCloseEndsTheServerSide) {
  startEchoServer(false);
  Response head;
  auto client = connect(head);
  ASSERT_EQ(head.status, 101);
  Collector got;
  client->start([&](std::string data) { got.add(data); }, [&] { got.end(); });
  client->write("x");
  EXPECT_TRUE(got.waitFor("X"));
  client->close();
  EXPECT_TRUE(got.waitEnded());
}

TEST_F(UpgradeTest, PlainRequestGetsItsBodyThroughTheTunnel) {
  startEchoServer(true);
  ClientTls tls;
  tls.caFile = certificates_->caCert;
  ClientRequest request;
  request.http10 = true;
  Response head;
  auto client = ClientConnection::open("127.0.0.1", server_->port(), tls, request, 10s, head);
  EXPECT_EQ(head.status, 200);
  Collector got;
  client->start([&](std::string data) { got.add(data); }, [&] { got.end(); });
  EXPECT_TRUE(got.waitFor("plain\n"));
  EXPECT_TRUE(got.waitEnded());
}

TEST_F(UpgradeTest, WrongCaFailsTheHandshake) {
  startEchoServer(true);
  ClientTls tls;
  tls.caFile = certificates_->otherCaCert;
  Response head;
  EXPECT_THROW(ClientConnection::open("127.0.0.1", server_->port(), tls, {}, 10s, head),
               std::runtime_error);
}

TEST_F(UpgradeTest, PipedTunnelsRelay) {
  // A relay server upgrades and pipes to the echo server: the shape of both kite proxy hops.
  startEchoServer(true);
  const auto echoPort = server_->port();
  ServerOptions options;
  options.bindAddress = "127.0.0.1";
  options.tls.certificateFile = certificates_->serverCert;
  options.tls.privateKeyFile = certificates_->serverKey;
  const std::string ca = certificates_->caCert;
  auto relay =
      startServer(options, [echoPort, ca](Request& request, std::shared_ptr<Responder> responder) {
        ClientRequest forward;
        forward.method = request.method;
        forward.target = request.target;
        forward.headers = {{"connection", "Upgrade"}, {"upgrade", "echo/1"}};
        Response head;
        auto backend = ClientConnection::open("127.0.0.1", echoPort, ClientTls{ca, "", "", ""},
                                              forward, 10s, head);
        auto tunnel = responder->upgrade(head);
        pipeTunnels(tunnel, backend);
      });
  ClientTls tls;
  tls.caFile = certificates_->caCert;
  ClientRequest request;
  request.headers = {{"connection", "Upgrade"}, {"upgrade", "echo/1"}};
  Response head;
  auto client = ClientConnection::open("127.0.0.1", relay->port(), tls, request, 10s, head);
  ASSERT_EQ(head.status, 101);
  Collector got;
  client->start([&](std::string data) { got.add(data); }, [&] { got.end(); });
  client->write("through");
  EXPECT_TRUE(got.waitFor("THROUGH"));
  client->write("bye");
  EXPECT_TRUE(got.waitEnded());
  relay->stop();
}

TEST_F(UpgradeTest, Http2HasNoUpgradesAndAnswers400) {
  // Whatever the handler does, an upgrade on an HTTP/2 stream is refused.
  ServerOptions options;
  options.bindAddress = "127.0.0.1";
  options.tls.certificateFile = certificates_->serverCert;
  options.tls.privateKeyFile = certificates_->serverKey;
  std::atomic<bool> gotTunnel{false};
  server_ = startServer(options, [&](Request&, std::shared_ptr<Responder> responder) {
    gotTunnel = responder->upgrade({101, {{"upgrade", "echo/1"}}, {}}) != nullptr;
  });
  testing::H2Client client(server_->port(), testing::ClientTls{certificates_->caCert, "", ""});
  const auto reply = client.fetch("GET", "/echo");
  EXPECT_EQ(reply.status, 400);
  EXPECT_EQ(reply.body, "protocol upgrades need HTTP/1.1\n");
  EXPECT_FALSE(gotTunnel.load());
}

TEST(UrlTest, ParsesStreamingServerUrls) {
  auto url = parseUrl("http://127.0.0.1:39211/exec/AbCd?x=1");
  ASSERT_TRUE(url);
  EXPECT_FALSE(url->https);
  EXPECT_EQ(url->host, "127.0.0.1");
  EXPECT_EQ(url->port, 39211);
  EXPECT_EQ(url->target, "/exec/AbCd?x=1");
  url = parseUrl("https://[::1]/x");
  ASSERT_TRUE(url);
  EXPECT_EQ(url->host, "::1");
  EXPECT_EQ(url->port, 443);
  EXPECT_FALSE(parseUrl("ftp://x/"));
  EXPECT_FALSE(parseUrl("http://h:99999/"));
  EXPECT_FALSE(parseUrl("http://:80/"));
}

}  // namespace
}  // namespace kite::http
