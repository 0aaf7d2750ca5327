#pragma once
// Internal: the one routine that builds and signs every certificate kite issues.

#include <chrono>
#include <string>
#include <vector>

#include "kite/pki/certificate.h"
#include "kite/pki/key.h"

namespace kite::pki::detail {

enum class CertKind { kCa, kServing, kClient };

struct IssueRequest {
  CertKind kind = CertKind::kClient;
  std::string commonName;
  std::vector<std::string> organizations;
  std::vector<std::string> dnsNames;
  std::vector<std::string> ipAddresses;
  std::chrono::seconds validity{0};
};

// issuer == nullptr: self-signed (subject key must be signer's public key).
Certificate issue(const Certificate* issuer, const PrivateKey& signer, const PublicKey& subjectKey,
                  const IssueRequest& request);

}  // namespace kite::pki::detail
