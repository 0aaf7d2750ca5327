#include "kite/pki/join_token.h"

#include <gtest/gtest.h>

#include "kite/pki/authority.h"
#include "kite/pki/encoding.h"
#include "kite/pki/error.h"

namespace kite::pki {
namespace {

TEST(JoinToken, FullFormRoundTripsAndHashesTheBundleBytes) {
  const CertificateAuthority ca = createSelfSignedCa("kite-server-ca@1");
  const std::string bundle = ca.certificate.toPem();
  const std::string secret = generateTokenSecret();
  EXPECT_EQ(secret.size(), 32U);
  const JoinToken token = makeJoinToken(bundle, secret);
  EXPECT_EQ(token.caHash, sha256Hex(bundle));
  const std::string text = token.toString();
  EXPECT_EQ(text, "K10" + sha256Hex(bundle) + "::server:" + secret);

  const JoinToken parsed = JoinToken::parse(text + "\n");
  EXPECT_EQ(parsed.caHash, token.caHash);
  EXPECT_EQ(parsed.username, "server");
  EXPECT_EQ(parsed.secret, secret);
  EXPECT_TRUE(parsed.sameSecret(token));
  EXPECT_EQ(parsed.toString(), text);
}

TEST(JoinToken, AnAgentTrustsOnlyTheCaTheTokenNames) {
  const CertificateAuthority ca = createSelfSignedCa("kite-server-ca@1");
  const CertificateAuthority impostor = createSelfSignedCa("kite-server-ca@1");
  const std::string bundle = ca.certificate.toPem();
  const JoinToken token = JoinToken::parse(makeJoinToken(bundle, generateTokenSecret()).toString());
  EXPECT_EQ(checkCaAgainstToken(token, bundle), CaCheck::kMatch);
  EXPECT_EQ(checkCaAgainstToken(token, impostor.certificate.toPem()), CaCheck::kMismatch);
  // The exact bytes count: a bundle with an extra CA is a different bundle.
  EXPECT_EQ(checkCaAgainstToken(token, bundle + impostor.certificate.toPem()), CaCheck::kMismatch);
}

TEST(JoinToken, UpperCaseHashIsAccepted) {
  const std::string bundle = "x";
  std::string hash = sha256Hex(bundle);
  for (char& c : hash) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  const JoinToken token = JoinToken::parse("K10" + hash + "::server:s3cret");
  EXPECT_EQ(checkCaAgainstToken(token, bundle), CaCheck::kMatch);
}

TEST(JoinToken, ShortFormIsTheSecretAlone) {
  const JoinToken token = JoinToken::parse("  mysecret\n");
  EXPECT_FALSE(token.hasCaHash());
  EXPECT_EQ(token.secret, "mysecret");
  EXPECT_EQ(token.toString(), "mysecret");
  EXPECT_EQ(checkCaAgainstToken(token, "any"), CaCheck::kNoHash);
  EXPECT_TRUE(token.sameSecret(JoinToken::parse("K10" + sha256Hex("b") + "::server:mysecret")));
  EXPECT_FALSE(token.sameSecret(JoinToken::parse("othersecret")));
}

TEST(JoinToken, MalformedTokensAreRefusedWithoutEchoingTheSecret) {
  const std::string hash = sha256Hex("b");
  const std::vector<std::string> bads = {"",
                                         "   ",
                                         "K10abc::server:topsecret",
                                         "K10" + hash + "server:topsecret",
                                         "K10" + hash + "::topsecret",
                                         "K10" + hash + "::server:",
                                         "K10" + hash + "::server:a b",
                                         "K10" + std::string(63, 'a') + "g::server:topsecret",
                                         "two words"};
  for (const std::string& bad : bads) {
    try {
      JoinToken::parse(bad);
      ADD_FAILURE() << "accepted: " << bad;
    } catch (const PkiError& e) {
      EXPECT_EQ(std::string(e.what()).find("topsecret"), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace kite::pki
