// The server bundle's certificates used for real: a TLS 1.3 handshake in memory (no sockets)
// between a server with the serving certificate that requires a client certificate from the
// client CA, and a client trusting the server CA and presenting the admin certificate.

#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <memory>

#include "kite/pki/server_pki.h"
#include "test_util.h"

namespace kite::pki {
namespace {

struct CtxFree {
  void operator()(SSL_CTX* ctx) const { SSL_CTX_free(ctx); }
};
struct SslFree {
  void operator()(SSL* ssl) const { SSL_free(ssl); }
};
using CtxPtr = std::unique_ptr<SSL_CTX, CtxFree>;
using SslPtr = std::unique_ptr<SSL, SslFree>;

CtxPtr makeCtx(const SSL_METHOD* method, const Certificate& cert, const PrivateKey& key,
               const Certificate& trusted) {
  CtxPtr ctx(SSL_CTX_new(method));
  EXPECT_TRUE(ctx);
  EXPECT_EQ(SSL_CTX_use_certificate(ctx.get(), cert.native()), 1);
  EXPECT_EQ(SSL_CTX_use_PrivateKey(ctx.get(), key.native()), 1);
  EXPECT_EQ(SSL_CTX_check_private_key(ctx.get()), 1);
  X509_STORE* store = SSL_CTX_get_cert_store(ctx.get());
  EXPECT_EQ(X509_STORE_add_cert(store, trusted.native()), 1);
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  return ctx;
}

struct HandshakeResult {
  bool ok = false;
  std::string peerCommonName;  // the client's CN as the server saw it
  long serverVerify = -1;      // NOLINT(google-runtime-int): OpenSSL's type
  long clientVerify = -1;      // NOLINT(google-runtime-int)
};

// Runs both ends of a handshake over a BIO pair until both finish or one fails.
HandshakeResult handshake(SSL_CTX* serverCtx, SSL_CTX* clientCtx, const std::string& host) {
  SslPtr server(SSL_new(serverCtx));
  SslPtr client(SSL_new(clientCtx));
  BIO* serverBio = nullptr;
  BIO* clientBio = nullptr;
  BIO_new_bio_pair(&serverBio, 0, &clientBio, 0);
  SSL_set_bio(server.get(), serverBio, serverBio);
  SSL_set_bio(client.get(), clientBio, clientBio);
  SSL_set_accept_state(server.get());
  SSL_set_connect_state(client.get());
  SSL_set1_host(client.get(), host.c_str());
  bool serverDone = false;
  bool clientDone = false;
  bool failed = false;
  for (int round = 0; round < 50 && !(serverDone && clientDone) && !failed; ++round) {
    for (auto [ssl, done] : {std::pair{client.get(), &clientDone}, {server.get(), &serverDone}}) {
      if (*done) continue;
      const int r = SSL_do_handshake(ssl);
      if (r == 1) {
        *done = true;
      } else {
        const int err = SSL_get_error(ssl, r);
        if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) failed = true;
      }
    }
  }
  // TLS 1.3: the server's verdict on the client certificate reaches the client afterwards.
  char byte = 0;
  if (!failed) {
    SSL_write(server.get(), "x", 1);
    failed = SSL_read(client.get(), &byte, 1) != 1;
  }
  ERR_clear_error();
  HandshakeResult result;
  result.ok = serverDone && clientDone && !failed;
  result.serverVerify = SSL_get_verify_result(server.get());
  result.clientVerify = SSL_get_verify_result(client.get());
  if (X509* peer = SSL_get1_peer_certificate(server.get())) {
    result.peerCommonName = Certificate(adoptCertificate(peer)).subjectCommonName();
  }
  return result;
}

TEST(TlsHandshake, ServerBundleCertificatesWorkForMutualTls) {
  testing::TempDir dir;
  ServerPkiOptions options;
  options.dataDir = dir.path();
  options.hostname = "node-1";
  const ServerPki pki = loadOrCreateServerPki(options);
  CtxPtr serverCtx = makeCtx(TLS_server_method(), pki.servingCertificate, pki.servingKey,
                             pki.clientCa.certificate);
  CtxPtr clientCtx =
      makeCtx(TLS_client_method(), pki.adminCertificate, pki.adminKey, pki.serverCa.certificate);
  for (const char* host : {"localhost", "node-1", "127.0.0.1", "kubernetes.default.svc"}) {
    const HandshakeResult result = handshake(serverCtx.get(), clientCtx.get(), host);
    EXPECT_TRUE(result.ok) << host;
    EXPECT_EQ(result.serverVerify, X509_V_OK) << host;
    EXPECT_EQ(result.clientVerify, X509_V_OK) << host;
    EXPECT_EQ(result.peerCommonName, "system:admin") << host;
  }
  EXPECT_FALSE(handshake(serverCtx.get(), clientCtx.get(), "elsewhere.example").ok)
      << "a name not in the SANs";
}

TEST(TlsHandshake, CertificatesFromTheWrongCaAreRefused) {
  testing::TempDir dir;
  ServerPkiOptions options;
  options.dataDir = dir.path();
  const ServerPki pki = loadOrCreateServerPki(options);
  // A client that trusts the client CA instead of the server CA refuses the server.
  CtxPtr serverCtx = makeCtx(TLS_server_method(), pki.servingCertificate, pki.servingKey,
                             pki.clientCa.certificate);
  CtxPtr confused =
      makeCtx(TLS_client_method(), pki.adminCertificate, pki.adminKey, pki.clientCa.certificate);
  const HandshakeResult wrongTrust = handshake(serverCtx.get(), confused.get(), "localhost");
  EXPECT_FALSE(wrongTrust.ok);
  EXPECT_NE(wrongTrust.clientVerify, X509_V_OK);
  // The serving certificate cannot log in as a client: it is not from the client CA.
  CtxPtr impostor = makeCtx(TLS_client_method(), pki.servingCertificate, pki.servingKey,
                            pki.serverCa.certificate);
  const HandshakeResult asClient = handshake(serverCtx.get(), impostor.get(), "localhost");
  EXPECT_FALSE(asClient.ok);
  EXPECT_NE(asClient.serverVerify, X509_V_OK);
}

}  // namespace
}  // namespace kite::pki
