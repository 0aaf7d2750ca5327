#include "kite/pki/csr.h"

#include <gtest/gtest.h>

#include "kite/pki/encoding.h"
#include "kite/pki/error.h"
#include "kite/pki/files.h"
#include "kite/pki/verify.h"
#include "test_util.h"

namespace kite::pki {
namespace {

using testing::runCommand;
using testing::TempDir;

// The CSR with the last byte of its DER (inside the signature) flipped.
std::string tamperSignature(const std::string& pem) {
  const std::string begin = "-----BEGIN CERTIFICATE REQUEST-----\n";
  const std::string end = "-----END CERTIFICATE REQUEST-----";
  std::string body = pem.substr(begin.size(), pem.find(end) - begin.size());
  std::erase(body, '\n');
  std::string der = base64Decode(body).value();
  der.back() = static_cast<char>(der.back() ^ 0x01);
  return begin + base64Encode(der) + "\n" + end + "\n";
}

TEST(Csr, AgentCsrCarriesSubjectAndVerifiesWithOpenssl) {
  const CsrWithKey made = createCsr("system:node:n1", {"system:nodes"});
  EXPECT_EQ(made.request.commonName(), "system:node:n1");
  EXPECT_EQ(made.request.organizations(), std::vector<std::string>{"system:nodes"});
  EXPECT_TRUE(made.request.signatureValid());
  EXPECT_TRUE(made.request.publicKey() == made.key.publicKey());

  TempDir dir;
  writeFileAtomic(dir / "n1.csr", made.request.toPem(), kPublicFileMode);
  const auto result = runCommand(
      {"openssl", "req", "-verify", "-noout", "-text", "-in", (dir / "n1.csr").string()});
  EXPECT_EQ(result.exitCode, 0) << result.output;
  EXPECT_NE(result.output.find("verify OK"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("O = system:nodes, CN = system:node:n1"), std::string::npos)
      << result.output;

  const CertificateRequest parsed = CertificateRequest::fromPem(made.request.toPem());
  EXPECT_EQ(parsed.commonName(), "system:node:n1");
  EXPECT_TRUE(parsed.signatureValid());
}

TEST(Csr, ServerSignsAClientCertificateThatChainsToItsCa) {
  const CertificateAuthority clientCa = createSelfSignedCa("kite-client-ca@1");
  const CsrWithKey made = createCsr("alice", {"dev", "ops"});
  const CertificateRequest received = CertificateRequest::fromPem(made.request.toPem());
  const Certificate cert = signClientCsr(clientCa, received, std::chrono::hours(24));
  EXPECT_EQ(cert.subjectCommonName(), "alice");
  EXPECT_EQ(cert.subjectOrganizations(), (std::vector<std::string>{"dev", "ops"}));
  EXPECT_TRUE(cert.publicKey() == made.key.publicKey());
  VerifyOptions options;
  options.purpose = Purpose::kClientAuth;
  EXPECT_TRUE(verifyCertificate(cert, {clientCa.certificate}, options));

  TempDir dir;
  writeFileAtomic(dir / "ca.crt", clientCa.certificate.toPem(), kPublicFileMode);
  writeFileAtomic(dir / "alice.crt", cert.toPem(), kPublicFileMode);
  const auto result = runCommand({"openssl", "verify", "-purpose", "sslclient", "-CAfile",
                                  (dir / "ca.crt").string(), (dir / "alice.crt").string()});
  EXPECT_EQ(result.exitCode, 0) << result.output;
}

TEST(Csr, ServingCsrGetsTheSignersSans) {
  const CertificateAuthority serverCa = createSelfSignedCa("kite-server-ca@1");
  const CsrWithKey made = createCsr("n1", {});
  const Certificate cert = signServingCsr(serverCa, made.request, {"n1"}, {"10.0.0.7"});
  EXPECT_EQ(cert.dnsNames(), std::vector<std::string>{"n1"});
  EXPECT_EQ(cert.ipAddresses(), std::vector<std::string>{"10.0.0.7"});
  VerifyOptions options;
  options.purpose = Purpose::kServerAuth;
  options.host = "10.0.0.7";
  EXPECT_TRUE(verifyCertificate(cert, {serverCa.certificate}, options));
}

TEST(Csr, ACsrWithABadSignatureIsRefused) {
  const CertificateAuthority ca = createSelfSignedCa("ca");
  const CsrWithKey made = createCsr("mallory", {"system:masters"});
  const CertificateRequest tampered =
      CertificateRequest::fromPem(tamperSignature(made.request.toPem()));
  EXPECT_EQ(tampered.commonName(), "mallory");
  EXPECT_FALSE(tampered.signatureValid());
  try {
    signClientCsr(ca, tampered);
    FAIL() << "signed a CSR with a bad signature";
  } catch (const PkiError& e) {
    EXPECT_NE(std::string(e.what()).find("signature"), std::string::npos) << e.what();
  }
  EXPECT_THROW(signServingCsr(ca, tampered, {"x"}, {}), PkiError);

  TempDir dir;
  writeFileAtomic(dir / "bad.csr", tampered.toPem(), kPublicFileMode);
  // openssl 3.0 exits 0 here, so its message is what counts.
  const auto result =
      runCommand({"openssl", "req", "-verify", "-noout", "-in", (dir / "bad.csr").string()});
  EXPECT_NE(result.output.find("verify failure"), std::string::npos) << result.output;
}

TEST(Csr, MalformedOrEmptyInputIsRefused) {
  EXPECT_THROW(CertificateRequest::fromPem("garbage"), PkiError);
  EXPECT_THROW(createCsr("", {"g"}), PkiError);
}

}  // namespace
}  // namespace kite::pki
