#include "kite/pki/encoding.h"

#include <gtest/gtest.h>

#include "kite/pki/random.h"

namespace kite::pki {
namespace {

TEST(Encoding, Base64MatchesRfc4648Vectors) {
  EXPECT_EQ(base64Encode(""), "");
  EXPECT_EQ(base64Encode("f"), "Zg==");
  EXPECT_EQ(base64Encode("fo"), "Zm8=");
  EXPECT_EQ(base64Encode("foo"), "Zm9v");
  EXPECT_EQ(base64Encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(base64Decode("Zm9vYg==").value(), "foob");
  EXPECT_EQ(base64Decode("Zm9vYmE=").value(), "fooba");
  EXPECT_FALSE(base64Decode("Zm9vYg=").has_value());
  EXPECT_FALSE(base64Decode("Zm9v*mFy").has_value());
}

TEST(Encoding, Base64UrlHasNoPaddingAndUrlAlphabet) {
  const std::string bytes("\xfb\xff\xfe", 3);
  EXPECT_EQ(base64UrlEncode(bytes), "-__-");
  EXPECT_EQ(base64UrlEncode("f"), "Zg");
  EXPECT_EQ(base64UrlDecode("Zg").value(), "f");
  EXPECT_EQ(base64UrlDecode("-__-").value(), bytes);
  EXPECT_FALSE(base64UrlDecode("Zg==").has_value()) << "padding refused";
  EXPECT_FALSE(base64UrlDecode("+//+").has_value()) << "standard alphabet refused";
  EXPECT_FALSE(base64UrlDecode("Z").has_value()) << "impossible length";
  EXPECT_FALSE(base64UrlDecode("Zh").has_value()) << "non-zero trailing bits";
  for (std::size_t n = 0; n < 40; ++n) {
    const std::string data = randomBytes(n);
    EXPECT_EQ(base64UrlDecode(base64UrlEncode(data)).value(), data);
    EXPECT_EQ(base64Decode(base64Encode(data)).value(), data);
  }
}

TEST(Encoding, Sha256AndHex) {
  EXPECT_EQ(sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(hexEncode(std::string("\x00\xff", 2)), "00ff");
  EXPECT_TRUE(constantTimeEquals("abc", "abc"));
  EXPECT_FALSE(constantTimeEquals("abc", "abd"));
  EXPECT_FALSE(constantTimeEquals("abc", "ab"));
}

TEST(Random, SecretsDifferAndHaveTheAskedLength) {
  const std::string a = randomHex(16);
  const std::string b = randomHex(16);
  EXPECT_EQ(a.size(), 32U);
  EXPECT_NE(a, b);
}

}  // namespace
}  // namespace kite::pki
