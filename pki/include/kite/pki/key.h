#pragma once
// Private and public keys. kite generates ECDSA P-256 keys (small, fast, and what
// Kubernetes clients and Go's TLS accept everywhere); loading also accepts RSA and other
// curves, since an operator may bring their own. Copies share the same OpenSSL key, which is
// never modified after creation, so one key may sign and verify from several threads at once.

#include <openssl/types.h>

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

namespace kite::pki {

class PublicKey {
 public:
  // Parses a "PUBLIC KEY" (SubjectPublicKeyInfo) PEM block; throws PkiError.
  static PublicKey fromPem(std::string_view pem);

  std::string toPem() const;
  // DER SubjectPublicKeyInfo, e.g. for key ids.
  std::string toDer() const;
  // True for an EC key on P-256 (the only kind ES256 tokens may use).
  bool isP256() const;
  bool operator==(const PublicKey& other) const;

  EVP_PKEY* native() const { return key_.get(); }
  explicit PublicKey(std::shared_ptr<EVP_PKEY> key) : key_(std::move(key)) {}

 private:
  std::shared_ptr<EVP_PKEY> key_;
};

class PrivateKey {
 public:
  // A fresh ECDSA P-256 key from OpenSSL's CSPRNG.
  static PrivateKey generateP256();
  // Parses a PEM private key ("PRIVATE KEY" PKCS#8, "EC PRIVATE KEY", "RSA PRIVATE KEY").
  static PrivateKey fromPem(std::string_view pem);
  static PrivateKey load(const std::filesystem::path& path);

  // Unencrypted PKCS#8 PEM ("PRIVATE KEY").
  std::string toPem() const;
  // Writes toPem() atomically with mode 0600 (see files.h).
  void save(const std::filesystem::path& path) const;

  PublicKey publicKey() const;
  bool isP256() const;

  EVP_PKEY* native() const { return key_.get(); }
  explicit PrivateKey(std::shared_ptr<EVP_PKEY> key) : key_(std::move(key)) {}

 private:
  std::shared_ptr<EVP_PKEY> key_;
};

// Takes ownership of an OpenSSL key (for the pki implementation and tests).
std::shared_ptr<EVP_PKEY> adoptKey(EVP_PKEY* key);

}  // namespace kite::pki
