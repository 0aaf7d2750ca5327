#include "kite/pki/key.h"

#include <openssl/core_names.h>
#include <openssl/pem.h>

#include <array>

#include "kite/pki/error.h"
#include "kite/pki/files.h"
#include "ossl.h"

namespace kite::pki {

std::shared_ptr<EVP_PKEY> adoptKey(EVP_PKEY* key) {
  if (key == nullptr) throw PkiError("adoptKey: null key");
  return {key, EVP_PKEY_free};
}

namespace {

bool keyIsP256(EVP_PKEY* key) {
  if (EVP_PKEY_get_base_id(key) != EVP_PKEY_EC) return false;
  std::array<char, 64> group{};
  std::size_t length = 0;
  if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group.data(), group.size(),
                                     &length) != 1) {
    detail::drainErrors();
    return false;
  }
  const std::string_view name(group.data(), length);
  return name == "prime256v1" || name == "P-256";
}

}  // namespace

PublicKey PublicKey::fromPem(std::string_view pem) {
  auto bio = detail::memoryBio(pem);
  EVP_PKEY* key = PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr);
  if (key == nullptr) detail::throwOpenssl("reading PEM public key");
  return PublicKey(adoptKey(key));
}

std::string PublicKey::toPem() const {
  auto bio = detail::newMemoryBio();
  if (PEM_write_bio_PUBKEY(bio.get(), key_.get()) != 1) {
    detail::throwOpenssl("writing PEM public key");
  }
  return detail::bioContents(bio.get());
}

std::string PublicKey::toDer() const {
  unsigned char* der = nullptr;
  const int length = i2d_PUBKEY(key_.get(), &der);
  if (length <= 0) detail::throwOpenssl("encoding public key as DER");
  std::string out(reinterpret_cast<const char*>(der), static_cast<std::size_t>(length));
  OPENSSL_free(der);
  return out;
}

bool PublicKey::isP256() const { return keyIsP256(key_.get()); }

bool PublicKey::operator==(const PublicKey& other) const {
  return EVP_PKEY_eq(key_.get(), other.key_.get()) == 1;
}

PrivateKey PrivateKey::generateP256() {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  if (key == nullptr) detail::throwOpenssl("generating an ECDSA P-256 key");
  return PrivateKey(adoptKey(key));
}

PrivateKey PrivateKey::fromPem(std::string_view pem) {
  auto bio = detail::memoryBio(pem);
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr);
  if (key == nullptr) detail::throwOpenssl("reading PEM private key");
  return PrivateKey(adoptKey(key));
}

PrivateKey PrivateKey::load(const std::filesystem::path& path) {
  const std::string pem = readFile(path);
  try {
    return fromPem(pem);
  } catch (const PkiError& e) {
    throw PkiError(path.string() + ": " + e.what());
  }
}

std::string PrivateKey::toPem() const {
  auto bio = detail::newMemoryBio();
  if (PEM_write_bio_PrivateKey(bio.get(), key_.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    detail::throwOpenssl("writing PEM private key");
  }
  return detail::bioContents(bio.get());
}

void PrivateKey::save(const std::filesystem::path& path) const {
  writeFileAtomic(path, toPem(), kSecretFileMode);
}

PublicKey PrivateKey::publicKey() const {
  // Round-trip through DER so the PublicKey holds no private material.
  unsigned char* der = nullptr;
  const int length = i2d_PUBKEY(key_.get(), &der);
  if (length <= 0) detail::throwOpenssl("encoding public key as DER");
  const unsigned char* cursor = der;
  EVP_PKEY* pub = d2i_PUBKEY(nullptr, &cursor, length);
  OPENSSL_free(der);
  if (pub == nullptr) detail::throwOpenssl("decoding public key");
  return PublicKey(adoptKey(pub));
}

bool PrivateKey::isP256() const { return keyIsP256(key_.get()); }

}  // namespace kite::pki
