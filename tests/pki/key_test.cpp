#include "kite/pki/key.h"

#include <gtest/gtest.h>

#include "kite/pki/error.h"
#include "kite/pki/files.h"
#include "test_util.h"

namespace kite::pki {
namespace {

using testing::fileMode;
using testing::runCommand;
using testing::TempDir;

TEST(PrivateKey, GeneratesP256AndRoundTripsThroughPem) {
  const PrivateKey key = PrivateKey::generateP256();
  EXPECT_TRUE(key.isP256());
  const std::string pem = key.toPem();
  EXPECT_NE(pem.find("-----BEGIN PRIVATE KEY-----"), std::string::npos);
  const PrivateKey again = PrivateKey::fromPem(pem);
  EXPECT_TRUE(again.publicKey() == key.publicKey());
  EXPECT_FALSE(PrivateKey::generateP256().publicKey() == key.publicKey());
  EXPECT_EQ(again.toPem(), pem);
}

TEST(PrivateKey, PublicKeyRoundTripsAndHoldsNoPrivatePart) {
  const PrivateKey key = PrivateKey::generateP256();
  const std::string pem = key.publicKey().toPem();
  EXPECT_NE(pem.find("-----BEGIN PUBLIC KEY-----"), std::string::npos);
  EXPECT_TRUE(PublicKey::fromPem(pem) == key.publicKey());
  EXPECT_TRUE(PublicKey::fromPem(pem).isP256());
  EXPECT_THROW(PrivateKey::fromPem(pem), PkiError);
}

TEST(PrivateKey, ReadsSec1EcKeysFromOpenssl) {
  TempDir dir;
  const auto path = dir / "ec.key";
  const auto made = runCommand(
      {"openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", path.string()});
  ASSERT_EQ(made.exitCode, 0) << made.output;
  const PrivateKey key = PrivateKey::load(path);
  EXPECT_TRUE(key.isP256());
}

TEST(PrivateKey, MalformedPemNamesTheFile) {
  TempDir dir;
  const auto path = dir / "bad.key";
  testing::writeText(path, "-----BEGIN PRIVATE KEY-----\nnot base64\n-----END PRIVATE KEY-----\n");
  try {
    PrivateKey::load(path);
    FAIL() << "expected PkiError";
  } catch (const PkiError& e) {
    EXPECT_NE(std::string(e.what()).find(path.string()), std::string::npos) << e.what();
  }
  EXPECT_THROW(PrivateKey::load(dir / "missing.key"), PkiError);
}

TEST(PrivateKey, SaveWritesMode0600AtomicallyEvenOverALooserFile) {
  TempDir dir;
  const auto path = dir / "sub" / "dir" / "k.key";
  const PrivateKey key = PrivateKey::generateP256();
  key.save(path);
  EXPECT_EQ(fileMode(path), 0600U);
  EXPECT_EQ(fileMode(dir / "sub"), 0700U);
  EXPECT_EQ(fileMode(dir / "sub" / "dir"), 0700U);
  // A pre-existing world-readable file is replaced, not rewritten in place.
  const auto loose = dir / "loose.key";
  testing::writeText(loose, "old");
  ::chmod(loose.c_str(), 0644);
  key.save(loose);
  EXPECT_EQ(fileMode(loose), 0600U);
  EXPECT_TRUE(PrivateKey::load(loose).publicKey() == key.publicKey());
  // No temporary files are left behind.
  std::size_t entries = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    ++entries;
  }
  EXPECT_EQ(entries, 2U);  // sub/ and loose.key
  // openssl agrees it is a valid EC key.
  const auto checked = runCommand({"openssl", "pkey", "-in", loose.string(), "-check", "-noout"});
  EXPECT_EQ(checked.exitCode, 0) << checked.output;
}

TEST(Files, WriteFileAtomicIgnoresTheUmask) {
  TempDir dir;
  const mode_t old = ::umask(0077);
  writeFileAtomic(dir / "public.crt", "x", kPublicFileMode);
  ::umask(old);
  EXPECT_EQ(fileMode(dir / "public.crt"), 0644U);
  EXPECT_EQ(readFile(dir / "public.crt"), "x");
}

TEST(Files, EnsurePrivateDirectoryTightensAnExistingDirectory) {
  TempDir dir;
  const auto sub = dir / "tls";
  std::filesystem::create_directory(sub);
  ::chmod(sub.c_str(), 0755);
  ensurePrivateDirectory(sub);
  EXPECT_EQ(fileMode(sub), 0700U);
}

}  // namespace
}  // namespace kite::pki
