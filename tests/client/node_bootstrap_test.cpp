// Joining a real `kite server` with the join token (kite/client/node_bootstrap.h): the CA is
// checked against the token, the node gets certificates it can use, and the server refuses
// wrong tokens, foreign CAs, other nodes' names and CSRs for someone else.

#include "kite/client/node_bootstrap.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <string>

#include "kite/api/core/v1/types.h"
#include "kite/client/client.h"
#include "kite/pki/certificate.h"
#include "kite/pki/csr.h"
#include "kite/pki/files.h"
#include "test_server.h"

namespace kite::client {
namespace {

namespace fs = std::filesystem;

class NodeBootstrapTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = std::make_unique<testing::TestServer>();
    server_->start();
  }
  static void TearDownTestSuite() { server_.reset(); }

  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "kite-join-test-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  static std::string token() {
    auto t = pki::readFile(server_->dataDir() / "server" / "token");
    while (!t.empty() && (t.back() == '\n' || t.back() == ' ')) t.pop_back();
    return t;
  }
  NodeBootstrapOptions options(const std::string& node, const std::string& sub = "a") const {
    NodeBootstrapOptions o;
    o.server = "https://127.0.0.1:" + std::to_string(server_->port());
    o.token = token();
    o.nodeName = node;
    o.nodeIps = {"127.0.0.1"};
    o.dir = dir_ / sub;
    return o;
  }

  static std::unique_ptr<testing::TestServer> server_;
  fs::path dir_;
};

std::unique_ptr<testing::TestServer> NodeBootstrapTest::server_;

TEST_F(NodeBootstrapTest, JoinGivesTheNodeItsIdentityAndPrivateFiles) {
  const auto creds = bootstrapNode(options("join-node"));
  EXPECT_TRUE(creds.clientRenewed);
  EXPECT_TRUE(creds.servingRenewed);
  const auto client = pki::Certificate::load(dir_ / "a" / "client-kubelet.crt");
  EXPECT_EQ(client.subjectCommonName(), "system:node:join-node");
  EXPECT_EQ(client.subjectOrganizations(), std::vector<std::string>{"system:nodes"});
  const auto serving = pki::Certificate::load(creds.servingCert);
  EXPECT_EQ(serving.dnsNames().front(), "join-node");
  EXPECT_EQ(serving.ipAddresses(), std::vector<std::string>{"127.0.0.1"});
  for (const auto& entry : fs::directory_iterator(dir_ / "a")) {
    const auto perms = fs::status(entry.path()).permissions();
    EXPECT_EQ(perms & (fs::perms::group_all | fs::perms::others_all), fs::perms::none)
        << entry.path();
  }
  // The kubeconfig works, as the node: it may register its own Node.
  Client node(loadKubeconfig(creds.kubeconfig));
  api::core::v1::Node n;
  n.metadata.name = "join-node";
  EXPECT_NO_THROW(node.create(n));
  api::core::v1::Node other;
  other.metadata.name = "someone-else";
  EXPECT_THROW(node.create(other), ApiError);
}

TEST_F(NodeBootstrapTest, SecondStartReusesTheCertificatesAndRenewsNearExpiry) {
  bootstrapNode(options("reuse-node"));
  const auto first = pki::Certificate::load(dir_ / "a" / "client-kubelet.crt");
  const auto again = bootstrapNode(options("reuse-node"));
  EXPECT_FALSE(again.clientRenewed);
  EXPECT_FALSE(again.servingRenewed);
  EXPECT_EQ(pki::Certificate::load(dir_ / "a" / "client-kubelet.crt"), first);
  // Certificates live a year: asking for 400 days of margin renews both (rotation).
  auto o = options("reuse-node");
  o.renewBefore = std::chrono::hours(24 * 400);
  const auto renewed = bootstrapNode(o);
  EXPECT_TRUE(renewed.clientRenewed);
  EXPECT_TRUE(renewed.servingRenewed);
  EXPECT_FALSE(pki::Certificate::load(dir_ / "a" / "client-kubelet.crt") == first);
}

TEST_F(NodeBootstrapTest, ATokenForAnotherCaIsRefusedBeforeAnythingIsSent) {
  auto o = options("mitm-node");
  // Same secret, but the hash of a different CA: a server presenting this CA is not trusted.
  const auto sep = o.token.find("::");
  ASSERT_NE(sep, std::string::npos);
  o.token = "K10" + std::string(64, 'a') + o.token.substr(sep);
  try {
    bootstrapNode(o);
    FAIL() << "joined a server whose CA does not match the token";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("refusing to trust"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(dir_ / "a" / "client-kubelet.crt"));
}

TEST_F(NodeBootstrapTest, AWrongSecretIsUnauthorized) {
  auto o = options("bad-secret-node");
  o.token = o.token.substr(0, o.token.rfind(':') + 1) + "0123456789abcdef0123456789abcdef";
  try {
    bootstrapNode(o);
    FAIL() << "joined with a wrong secret";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("HTTP 401"), std::string::npos) << e.what();
  }
}

TEST_F(NodeBootstrapTest, AnotherMachineCannotTakeAJoinedNodesName) {
  bootstrapNode(options("taken-node", "first"));
  try {
    bootstrapNode(options("taken-node", "second"));  // its own, different node password
    FAIL() << "a second machine took the node name";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("HTTP 403"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("node-password"), std::string::npos) << e.what();
  }
}

TEST_F(NodeBootstrapTest, TheShortTokenJoinsTrustingTheCaOnFirstUse) {
  auto o = options("short-token-node");
  o.token = o.token.substr(o.token.rfind(':') + 1);
  EXPECT_NO_THROW(bootstrapNode(o));
}

TEST_F(NodeBootstrapTest, ACsrForAnotherIdentityIsForbidden) {
  // A token holder asking for an admin's certificate through the node endpoint.
  const auto csr = pki::createCsr("system:admin", {"system:masters"});
  RestConfig config;
  config.server = "https://127.0.0.1:" + std::to_string(server_->port());
  config.insecureSkipTlsVerify = true;
  Transport transport(config);
  HttpRequest request;
  request.method = "POST";
  request.target = "/v1-kite/client-kubelet.crt";
  request.body = csr.request.toPem();
  request.headers = {{"Authorization", "Bearer " + token()},
                     {"Kite-Node-Name", "evil-node"},
                     {"Kite-Node-Password", "0123456789abcdef0123"}};
  const auto response = transport.send(request);
  EXPECT_EQ(response.status, 403);
  EXPECT_NE(response.body.find("\"reason\":\"Forbidden\""), std::string::npos) << response.body;
}

}  // namespace
}  // namespace kite::client
