#pragma once
// An X.509 certificate: PEM in and out, and the facts kite reads from one (subject CN and O,
// SANs, validity, CA flag). Copies share the same OpenSSL object.

#include <openssl/types.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "kite/pki/key.h"

namespace kite::pki {

using TimePoint = std::chrono::system_clock::time_point;

class Certificate {
 public:
  // The first CERTIFICATE block in pem; throws PkiError when there is none or it is malformed.
  static Certificate fromPem(std::string_view pem);
  // Every CERTIFICATE block in pem, in order; throws PkiError when there is none.
  static std::vector<Certificate> bundleFromPem(std::string_view pem);
  static Certificate load(const std::filesystem::path& path);

  std::string toPem() const;
  std::string toDer() const;

  std::string subjectCommonName() const;                  // "" when absent
  std::vector<std::string> subjectOrganizations() const;  // every O, in order
  std::string issuerCommonName() const;
  // Subject alternative names: DNS names as written, IP addresses in canonical text form
  // ("10.43.0.1", "::1").
  std::vector<std::string> dnsNames() const;
  std::vector<std::string> ipAddresses() const;
  TimePoint notBefore() const;
  TimePoint notAfter() const;
  std::string serialHex() const;
  // basicConstraints CA:TRUE.
  bool isCa() const;
  PublicKey publicKey() const;
  // True when this certificate's signature verifies with issuer's public key.
  bool isSignedBy(const Certificate& issuer) const;

  bool operator==(const Certificate& other) const;

  X509* native() const { return cert_.get(); }
  explicit Certificate(std::shared_ptr<X509> cert) : cert_(std::move(cert)) {}

 private:
  std::shared_ptr<X509> cert_;
};

// PEM of every certificate, concatenated (a bundle file).
std::string bundleToPem(const std::vector<Certificate>& certificates);

// Takes ownership of an OpenSSL certificate (for the pki implementation).
std::shared_ptr<X509> adoptCertificate(X509* cert);

}  // namespace kite::pki
