#include "kite/pki/service_account_token.h"

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include "kite/pki/encoding.h"
#include "kite/pki/error.h"
#include "kite/pki/files.h"
#include "test_util.h"

namespace kite::pki {
namespace {

constexpr const char* kIssuer = "https://kubernetes.default.svc.cluster.local";
constexpr const char* kAudience = "https://kubernetes.default.svc.cluster.local";

std::vector<std::string> split(const std::string& token) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  for (std::size_t dot = token.find('.'); dot != std::string::npos; dot = token.find('.', start)) {
    parts.push_back(token.substr(start, dot - start));
    start = dot + 1;
  }
  parts.push_back(token.substr(start));
  return parts;
}

// JWS r||s as the DER ECDSA-Sig-Value openssl wants, encoded here by hand (RFC 3279
// section 2.2.3) so the check does not share code with the signer.
std::string derSignature(const std::string& raw) {
  auto integer = [](std::string bytes) {
    while (bytes.size() > 1 && bytes[0] == 0 &&
           (static_cast<unsigned char>(bytes[1]) & 0x80U) == 0) {
      bytes.erase(0, 1);
    }
    if ((static_cast<unsigned char>(bytes[0]) & 0x80U) != 0) bytes.insert(0, 1, '\0');
    return std::string{'\x02', static_cast<char>(bytes.size())} + bytes;
  };
  const std::string body = integer(raw.substr(0, 32)) + integer(raw.substr(32));
  return std::string{'\x30', static_cast<char>(body.size())} + body;
}

std::string join(const std::vector<std::string>& parts) {
  return parts.at(0) + "." + parts.at(1) + "." + parts.at(2);
}

class TokenTest : public ::testing::Test {
 protected:
  PrivateKey key_ = PrivateKey::generateP256();
  TimePoint now_ = std::chrono::system_clock::from_time_t(1700000000);

  ServiceAccountClaims claims() const {
    ServiceAccountClaims c = newServiceAccountClaims(kIssuer, {kAudience}, "default", "builder",
                                                     "uid-sa", std::chrono::hours(1), now_);
    c.podName = "web-0";
    c.podUid = "uid-pod";
    return c;
  }

  TokenVerifyOptions options() const {
    TokenVerifyOptions o;
    o.issuers = {kIssuer};
    o.audiences = {kAudience, "other"};
    o.now = now_ + std::chrono::minutes(5);
    return o;
  }

  TokenVerification verify(const std::string& token) const {
    return verifyServiceAccountToken(token, {key_.publicKey()}, options());
  }
};

TEST_F(TokenTest, SignedTokenVerifiesWithAllClaims) {
  const std::string token = signServiceAccountToken(key_, claims());
  const TokenVerification result = verify(token);
  ASSERT_TRUE(result.ok()) << result.error;
  EXPECT_EQ(result.claims.issuer, kIssuer);
  EXPECT_EQ(result.claims.audiences, std::vector<std::string>{kAudience});
  EXPECT_EQ(result.claims.subject(), "system:serviceaccount:default:builder");
  EXPECT_EQ(result.claims.serviceAccountUid, "uid-sa");
  EXPECT_EQ(result.claims.podName, "web-0");
  EXPECT_EQ(result.claims.podUid, "uid-pod");
  EXPECT_EQ(result.claims.issuedAt, now_);
  EXPECT_EQ(result.claims.notBefore, now_);
  EXPECT_EQ(result.claims.expiresAt, now_ + std::chrono::hours(1));
  EXPECT_EQ(result.claims.id.size(), 36U) << "a UUID";
  EXPECT_EQ(token.find('='), std::string::npos) << "base64url without padding";
}

TEST_F(TokenTest, OpensslVerifiesTheSignature) {
  const auto parts = split(signServiceAccountToken(key_, claims()));
  testing::TempDir dir;
  writeFileAtomic(dir / "sa.pub", key_.publicKey().toPem(), kPublicFileMode);
  writeFileAtomic(dir / "sig.der", derSignature(base64UrlDecode(parts[2]).value()),
                  kPublicFileMode);
  writeFileAtomic(dir / "input", parts[0] + "." + parts[1], kPublicFileMode);
  writeFileAtomic(dir / "tampered", parts[0] + "." + parts[1] + "x", kPublicFileMode);
  auto check = [&](const char* input) {
    return testing::runCommand({"openssl", "dgst", "-sha256", "-verify", (dir / "sa.pub").string(),
                                "-signature", (dir / "sig.der").string(), (dir / input).string()});
  };
  const auto good = check("input");
  EXPECT_EQ(good.exitCode, 0) << good.output;
  EXPECT_NE(good.output.find("Verified OK"), std::string::npos) << good.output;
  EXPECT_NE(check("tampered").exitCode, 0);
}

TEST_F(TokenTest, WireFormatHasTheKubernetesClaims) {
  const auto parts = split(signServiceAccountToken(key_, claims()));
  ASSERT_EQ(parts.size(), 3U);
  rapidjson::Document header;
  header.Parse(base64UrlDecode(parts[0]).value().c_str());
  EXPECT_STREQ(header["alg"].GetString(), "ES256");
  EXPECT_EQ(std::string(header["kid"].GetString()), keyId(key_.publicKey()));
  rapidjson::Document payload;
  payload.Parse(base64UrlDecode(parts[1]).value().c_str());
  EXPECT_STREQ(payload["sub"].GetString(), "system:serviceaccount:default:builder");
  EXPECT_STREQ(payload["aud"][0].GetString(), kAudience);
  EXPECT_EQ(payload["exp"].GetInt64(), 1700003600);
  EXPECT_EQ(payload["nbf"].GetInt64(), 1700000000);
  EXPECT_EQ(payload["iat"].GetInt64(), 1700000000);
  const auto& k8s = payload["kubernetes.io"];
  EXPECT_STREQ(k8s["namespace"].GetString(), "default");
  EXPECT_STREQ(k8s["serviceaccount"]["name"].GetString(), "builder");
  EXPECT_STREQ(k8s["serviceaccount"]["uid"].GetString(), "uid-sa");
  EXPECT_STREQ(k8s["pod"]["name"].GetString(), "web-0");
  EXPECT_EQ(base64UrlDecode(parts[2]).value().size(), 64U) << "raw r||s";
}

TEST_F(TokenTest, PodIsOptional) {
  ServiceAccountClaims c = claims();
  c.podName.clear();
  const auto parts = split(signServiceAccountToken(key_, c));
  EXPECT_EQ(base64UrlDecode(parts[1]).value().find("\"pod\""), std::string::npos);
  EXPECT_TRUE(verify(join(parts)).ok());
}

TEST_F(TokenTest, ChangedPayloadIsRefused) {
  auto parts = split(signServiceAccountToken(key_, claims()));
  std::string payload = base64UrlDecode(parts[1]).value();
  const std::size_t at = payload.find("builder");
  ASSERT_NE(at, std::string::npos);
  payload.replace(at, 7, "admin00");
  parts[1] = base64UrlEncode(payload);
  const auto result = verify(join(parts));
  EXPECT_EQ(result.failure, TokenFailure::kBadSignature) << result.error;
  EXPECT_NE(result.error.find("signature"), std::string::npos);
}

TEST_F(TokenTest, ChangedSignatureIsRefused) {
  auto parts = split(signServiceAccountToken(key_, claims()));
  std::string signature = base64UrlDecode(parts[2]).value();
  signature[10] = static_cast<char>(signature[10] ^ 0x40);
  parts[2] = base64UrlEncode(signature);
  EXPECT_EQ(verify(join(parts)).failure, TokenFailure::kBadSignature);
  parts[2] = base64UrlEncode(signature.substr(0, 63));
  EXPECT_EQ(verify(join(parts)).failure, TokenFailure::kBadSignature);
}

TEST_F(TokenTest, AnotherKeysSignatureIsRefused) {
  const std::string token = signServiceAccountToken(PrivateKey::generateP256(), claims());
  EXPECT_EQ(verify(token).failure, TokenFailure::kBadSignature);
  // With several keys, any one that verifies is enough (key rotation).
  const PrivateKey second = PrivateKey::generateP256();
  const auto result = verifyServiceAccountToken(signServiceAccountToken(second, claims()),
                                                {key_.publicKey(), second.publicKey()}, options());
  EXPECT_TRUE(result.ok()) << result.error;
}

TEST_F(TokenTest, ExpiredAndNotYetValidAreRefusedBeyondTheLeeway) {
  const std::string token = signServiceAccountToken(key_, claims());
  TokenVerifyOptions o = options();
  o.now = now_ + std::chrono::hours(1) + std::chrono::seconds(30);  // inside the 60 s leeway
  EXPECT_TRUE(verifyServiceAccountToken(token, {key_.publicKey()}, o).ok());
  o.now = now_ + std::chrono::hours(1) + std::chrono::seconds(61);
  const auto expired = verifyServiceAccountToken(token, {key_.publicKey()}, o);
  EXPECT_EQ(expired.failure, TokenFailure::kExpired);
  EXPECT_NE(expired.error.find("expired"), std::string::npos) << expired.error;
  o.now = now_ - std::chrono::seconds(30);
  EXPECT_TRUE(verifyServiceAccountToken(token, {key_.publicKey()}, o).ok());
  o.now = now_ - std::chrono::seconds(61);
  EXPECT_EQ(verifyServiceAccountToken(token, {key_.publicKey()}, o).failure,
            TokenFailure::kNotYetValid);
}

TEST_F(TokenTest, WrongAudienceAndIssuerAreRefused) {
  ServiceAccountClaims c = claims();
  c.audiences = {"vault"};
  const auto aud = verify(signServiceAccountToken(key_, c));
  EXPECT_EQ(aud.failure, TokenFailure::kWrongAudience);
  EXPECT_NE(aud.error.find("vault"), std::string::npos) << aud.error;
  c = claims();
  c.audiences = {"vault", "other"};
  EXPECT_TRUE(verify(signServiceAccountToken(key_, c)).ok()) << "one accepted audience suffices";
  c = claims();
  c.issuer = "https://evil.example";
  const auto iss = verify(signServiceAccountToken(key_, c));
  EXPECT_EQ(iss.failure, TokenFailure::kWrongIssuer);
  EXPECT_NE(iss.error.find("evil.example"), std::string::npos) << iss.error;
}

TEST_F(TokenTest, AlgNoneAndOtherAlgorithmsAreRefused) {
  auto parts = split(signServiceAccountToken(key_, claims()));
  parts[0] = base64UrlEncode(R"({"alg":"none"})");
  parts[2] = "";
  const auto none = verify(join(parts));
  EXPECT_EQ(none.failure, TokenFailure::kUnsupportedAlgorithm);
  EXPECT_NE(none.error.find("none"), std::string::npos) << none.error;
  parts = split(signServiceAccountToken(key_, claims()));
  parts[0] = base64UrlEncode(R"({"alg":"HS256"})");
  EXPECT_EQ(verify(join(parts)).failure, TokenFailure::kUnsupportedAlgorithm);
  parts[0] = base64UrlEncode(R"({"kid":"x"})");
  EXPECT_EQ(verify(join(parts)).failure, TokenFailure::kUnsupportedAlgorithm);
}

TEST_F(TokenTest, MalformedTokensAreRefused) {
  EXPECT_EQ(verify("").failure, TokenFailure::kMalformed);
  EXPECT_EQ(verify("a.b").failure, TokenFailure::kMalformed);
  EXPECT_EQ(verify("a.b.c.d").failure, TokenFailure::kMalformed);
  EXPECT_EQ(verify("!!.b.c").failure, TokenFailure::kMalformed);
  const std::string token = signServiceAccountToken(key_, claims());
  EXPECT_EQ(verify(token + "=").failure, TokenFailure::kMalformed);
  auto parts = split(token);
  parts[0] = base64UrlEncode("not json");
  EXPECT_EQ(verify(join(parts)).failure, TokenFailure::kMalformed);
}

TEST_F(TokenTest, MisuseThrows) {
  TokenVerifyOptions o;
  EXPECT_THROW(verifyServiceAccountToken("a.b.c", {key_.publicKey()}, o), PkiError);
  ServiceAccountClaims c = claims();
  c.namespaceName.clear();
  EXPECT_THROW(signServiceAccountToken(key_, c), PkiError);
}

}  // namespace
}  // namespace kite::pki
