#include <gtest/gtest.h>

#include <algorithm>

#include "kite/pki/authority.h"
#include "kite/pki/certificate.h"
#include "kite/pki/error.h"
#include "kite/pki/files.h"
#include "kite/pki/verify.h"
#include "test_util.h"

namespace kite::pki {
namespace {

using testing::runCommand;
using testing::TempDir;

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

class CertificateTest : public ::testing::Test {
 protected:
  // The CA is shared: key generation is cheap, but one CA makes the chains obvious.
  CertificateAuthority ca_ = createSelfSignedCa(caCommonName("kite-server-ca"));
  TempDir dir_;

  std::filesystem::path write(const std::string& name, const std::string& pem) {
    auto path = dir_ / name;
    writeFileAtomic(path, pem, kPublicFileMode);
    return path;
  }

  std::string text(const Certificate& cert) {
    const auto result = runCommand(
        {"openssl", "x509", "-noout", "-text", "-in", write("t.crt", cert.toPem()).string()});
    EXPECT_EQ(result.exitCode, 0) << result.output;
    return result.output;
  }

  testing::CommandResult opensslVerify(const Certificate& cert, const std::string& purpose,
                                       const CertificateAuthority& trusted) {
    std::vector<std::string> argv = {"openssl", "verify", "-CAfile",
                                     write("ca.crt", trusted.certificate.toPem()).string()};
    if (!purpose.empty()) {
      argv.emplace_back("-purpose");
      argv.push_back(purpose);
    }
    argv.push_back(write("leaf.crt", cert.toPem()).string());
    return runCommand(argv);
  }
};

TEST_F(CertificateTest, SelfSignedCaIsATenYearCaNamedWithTheTime) {
  const Certificate& cert = ca_.certificate;
  EXPECT_TRUE(cert.isCa());
  EXPECT_TRUE(cert.subjectCommonName().starts_with("kite-server-ca@"));
  EXPECT_EQ(cert.issuerCommonName(), cert.subjectCommonName());
  const auto years = std::chrono::duration_cast<std::chrono::hours>(
      cert.notAfter() - std::chrono::system_clock::now());
  EXPECT_GT(years.count(), 24 * 3649);
  EXPECT_LT(years.count(), 24 * 3651);
  EXPECT_TRUE(cert.isSignedBy(cert));
  const std::string out = text(cert);
  EXPECT_TRUE(contains(out, "CA:TRUE")) << out;
  EXPECT_TRUE(contains(out, "Certificate Sign, CRL Sign")) << out;
  EXPECT_TRUE(contains(out, "ecdsa-with-SHA256")) << out;
  EXPECT_TRUE(contains(out, "prime256v1")) << out;
  EXPECT_EQ(caCommonName("x", std::chrono::system_clock::from_time_t(1700000000)), "x@1700000000");
}

TEST_F(CertificateTest, ServingCertificateCarriesDnsAndIpSansAndServerAuth) {
  const PrivateKey key = PrivateKey::generateP256();
  const Certificate cert = issueServingCertificate(ca_, key.publicKey(),
                                                   {"kube-apiserver",
                                                    {"localhost", "node-1.example", "127.0.0.1"},
                                                    {"10.43.0.1", "0:0::1", "fd00::5"}});
  EXPECT_EQ(cert.subjectCommonName(), "kube-apiserver");
  EXPECT_FALSE(cert.isCa());
  EXPECT_EQ(cert.dnsNames(), (std::vector<std::string>{"localhost", "node-1.example"}));
  EXPECT_EQ(cert.ipAddresses(),
            (std::vector<std::string>{"127.0.0.1", "10.43.0.1", "::1", "fd00::5"}));
  EXPECT_TRUE(cert.publicKey() == key.publicKey());
  EXPECT_TRUE(cert.isSignedBy(ca_.certificate));

  const std::string out = text(cert);
  EXPECT_TRUE(contains(out,
                       "DNS:localhost, DNS:node-1.example, IP Address:127.0.0.1, "
                       "IP Address:10.43.0.1, IP Address:0:0:0:0:0:0:0:1, "
                       "IP Address:FD00:0:0:0:0:0:0:5"))
      << out;
  EXPECT_TRUE(contains(out, "TLS Web Server Authentication")) << out;
  EXPECT_FALSE(contains(out, "TLS Web Client Authentication")) << out;
  EXPECT_TRUE(contains(out, "CA:FALSE")) << out;
  EXPECT_TRUE(contains(out, "Issuer: CN = " + ca_.certificate.subjectCommonName())) << out;

  const auto verified = opensslVerify(cert, "sslserver", ca_);
  EXPECT_EQ(verified.exitCode, 0) << verified.output;
  EXPECT_TRUE(contains(verified.output, ": OK")) << verified.output;
  EXPECT_NE(opensslVerify(cert, "sslclient", ca_).exitCode, 0) << "not a client certificate";
}

TEST_F(CertificateTest, ClientCertificateCarriesUserAndGroupsAndClientAuth) {
  const PrivateKey key = PrivateKey::generateP256();
  const Certificate cert = issueClientCertificate(
      ca_, key.publicKey(), {"system:node:n1", {"system:nodes", "team-a"}, std::chrono::hours(48)});
  EXPECT_EQ(cert.subjectCommonName(), "system:node:n1");
  EXPECT_EQ(cert.subjectOrganizations(), (std::vector<std::string>{"system:nodes", "team-a"}));
  EXPECT_TRUE(cert.dnsNames().empty());
  const auto left = cert.notAfter() - std::chrono::system_clock::now();
  EXPECT_GT(left, std::chrono::hours(47));
  EXPECT_LE(left, std::chrono::hours(48));
  EXPECT_LT(cert.notBefore(), std::chrono::system_clock::now());

  const std::string out = text(cert);
  EXPECT_TRUE(contains(out, "Subject: O = system:nodes, O = team-a, CN = system:node:n1")) << out;
  EXPECT_TRUE(contains(out, "TLS Web Client Authentication")) << out;
  EXPECT_TRUE(contains(out, "Digital Signature")) << out;
  EXPECT_EQ(opensslVerify(cert, "sslclient", ca_).exitCode, 0);
  EXPECT_NE(opensslVerify(cert, "sslserver", ca_).exitCode, 0) << "not a serving certificate";
}

TEST_F(CertificateTest, DefaultValidityIsOneYearAndSerialsAreRandom) {
  const PrivateKey key = PrivateKey::generateP256();
  const Certificate a = issueClientCertificate(ca_, key.publicKey(), {"u", {}});
  const Certificate b = issueClientCertificate(ca_, key.publicKey(), {"u", {}});
  const auto days = std::chrono::duration_cast<std::chrono::hours>(
      a.notAfter() - std::chrono::system_clock::now());
  EXPECT_GT(days.count(), 24 * 364);
  EXPECT_LE(days.count(), 24 * 365);
  EXPECT_NE(a.serialHex(), b.serialHex());
  EXPECT_GE(a.serialHex().size(), 16U);
}

TEST_F(CertificateTest, VerifyChecksTheChainPurposeHostAndTime) {
  const PrivateKey key = PrivateKey::generateP256();
  const Certificate serving =
      issueServingCertificate(ca_, key.publicKey(), {"api", {"localhost"}, {"127.0.0.1"}});
  EXPECT_TRUE(verifyCertificate(serving, {ca_.certificate}));
  VerifyOptions options;
  options.purpose = Purpose::kServerAuth;
  options.host = "localhost";
  EXPECT_TRUE(verifyCertificate(serving, {ca_.certificate}, options));
  options.host = "127.0.0.1";
  EXPECT_TRUE(verifyCertificate(serving, {ca_.certificate}, options));
  options.host = "other.example";
  EXPECT_FALSE(verifyCertificate(serving, {ca_.certificate}, options));
  options.host = "10.0.0.1";
  EXPECT_FALSE(verifyCertificate(serving, {ca_.certificate}, options));

  options = {};
  options.purpose = Purpose::kClientAuth;
  const VerifyResult wrongPurpose = verifyCertificate(serving, {ca_.certificate}, options);
  EXPECT_FALSE(wrongPurpose);
  EXPECT_FALSE(wrongPurpose.error.empty());

  const CertificateAuthority other = createSelfSignedCa("other-ca");
  const VerifyResult wrongCa = verifyCertificate(serving, {other.certificate});
  EXPECT_FALSE(wrongCa);
  EXPECT_TRUE(contains(wrongCa.error, "local issuer")) << wrongCa.error;
  EXPECT_TRUE(verifyCertificate(serving, {other.certificate, ca_.certificate}));
  EXPECT_NE(opensslVerify(serving, "", other).exitCode, 0);

  options = {};
  options.at = std::chrono::system_clock::now() + std::chrono::hours(24 * 400);
  const VerifyResult expired = verifyCertificate(serving, {ca_.certificate}, options);
  EXPECT_FALSE(expired);
  EXPECT_TRUE(contains(expired.error, "expired")) << expired.error;
}

TEST_F(CertificateTest, PemBundlesRoundTrip) {
  const CertificateAuthority other = createSelfSignedCa("other-ca");
  const std::string bundle = bundleToPem({ca_.certificate, other.certificate});
  const auto certs = Certificate::bundleFromPem(bundle);
  ASSERT_EQ(certs.size(), 2U);
  EXPECT_TRUE(certs[0] == ca_.certificate);
  EXPECT_TRUE(certs[1] == other.certificate);
  EXPECT_TRUE(Certificate::fromPem(bundle) == ca_.certificate);
  EXPECT_THROW(Certificate::bundleFromPem("no pem here"), PkiError);
  EXPECT_THROW(Certificate::bundleFromPem(bundle + "-----BEGIN CERTIFICATE-----\nAAAA\n"
                                                   "-----END CERTIFICATE-----\n"),
               PkiError)
      << "a damaged block is not silently dropped";
  EXPECT_THROW(Certificate::fromPem(""), PkiError);
  EXPECT_EQ(Certificate::fromPem(ca_.certificate.toPem()).toDer(), ca_.certificate.toDer());
}

TEST_F(CertificateTest, CaSaveAndLoad) {
  ca_.save(dir_ / "ca.crt", dir_ / "ca.key");
  EXPECT_EQ(testing::fileMode(dir_ / "ca.key"), 0600U);
  EXPECT_EQ(testing::fileMode(dir_ / "ca.crt"), 0644U);
  const CertificateAuthority loaded = CertificateAuthority::load(dir_ / "ca.crt", dir_ / "ca.key");
  EXPECT_TRUE(loaded.certificate == ca_.certificate);
  // A key that does not belong to the certificate is refused.
  PrivateKey::generateP256().save(dir_ / "other.key");
  EXPECT_THROW(CertificateAuthority::load(dir_ / "ca.crt", dir_ / "other.key"), PkiError);
}

TEST_F(CertificateTest, BadInputIsRefusedWithItsName) {
  const PublicKey key = PrivateKey::generateP256().publicKey();
  try {
    issueServingCertificate(ca_, key, {"api", {"bad name"}, {}});
    FAIL();
  } catch (const PkiError& e) {
    EXPECT_TRUE(contains(e.what(), "bad name")) << e.what();
  }
  EXPECT_THROW(issueServingCertificate(ca_, key, {"api", {}, {"10.0.0.300"}}), PkiError);
  EXPECT_THROW(issueClientCertificate(ca_, key, {"", {"g"}}), PkiError);
  EXPECT_NO_THROW(issueServingCertificate(ca_, key, {"api", {"*.apps.example"}, {}}));
}

TEST(SubjectAltNames, SplitsDeduplicatesAndCanonicalizes) {
  std::vector<std::string> dns;
  std::vector<std::string> ips;
  splitSubjectAltNames({"a.example", "10.0.0.1", "::1", "0::1", "a.example", "", "b"}, dns, ips);
  EXPECT_EQ(dns, (std::vector<std::string>{"a.example", "b"}));
  EXPECT_EQ(ips, (std::vector<std::string>{"10.0.0.1", "::1"}));
  EXPECT_TRUE(isIpAddress("fe80::1"));
  EXPECT_FALSE(isIpAddress("1.2.3"));
  EXPECT_TRUE(isValidDnsName("*.x.example"));
  EXPECT_FALSE(isValidDnsName("a..b"));
  EXPECT_FALSE(isValidDnsName("under_score"));
}

}  // namespace
}  // namespace kite::pki
