#pragma once
// Service-account tokens: JWTs (RFC 7519) signed ES256 with the server's service-account
// key, carrying the claims Kubernetes' bound tokens carry:
//
//   iss, sub "system:serviceaccount:<namespace>:<name>", aud (array), iat, nbf, exp, jti,
//   "kubernetes.io": {namespace, serviceaccount {name, uid}, pod {name, uid} (optional)}
//
// The header's kid is base64url(SHA-256(DER public key)), as Kubernetes computes it.
// A token that fails verification is an expected outcome, so verification returns a result
// that names what failed; only misuse (a non-P-256 signing key) throws PkiError.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kite/pki/certificate.h"
#include "kite/pki/key.h"

namespace kite::pki {

struct ServiceAccountClaims {
  std::string issuer;
  std::vector<std::string> audiences;
  std::string namespaceName;
  std::string serviceAccountName;
  std::string serviceAccountUid;
  std::string podName;  // empty: not bound to a pod
  std::string podUid;
  TimePoint issuedAt;
  TimePoint notBefore;
  TimePoint expiresAt;
  std::string id;  // jti; a random UUID when left empty at signing

  // "system:serviceaccount:<namespace>:<name>"
  std::string subject() const;
};

// Claims for a token valid from now for lifetime (iat = nbf = now).
ServiceAccountClaims newServiceAccountClaims(std::string issuer, std::vector<std::string> audiences,
                                             std::string namespaceName, std::string name,
                                             std::string uid, std::chrono::seconds lifetime,
                                             TimePoint now = std::chrono::system_clock::now());

// The compact JWS; key must be a P-256 private key.
std::string signServiceAccountToken(const PrivateKey& key, const ServiceAccountClaims& claims);

// The kid of a verification key.
std::string keyId(const PublicKey& key);

struct TokenVerifyOptions {
  std::vector<std::string> issuers;    // iss must be one of these (required, non-empty)
  std::vector<std::string> audiences;  // aud must contain one of these (required, non-empty)
  std::chrono::seconds leeway{60};     // clock skew allowed for exp and nbf
  std::optional<TimePoint> now;        // verification time; the system clock when unset
};

enum class TokenFailure {
  kNone,
  kMalformed,             // not three base64url parts of JSON
  kUnsupportedAlgorithm,  // alg other than ES256 (including "none")
  kBadSignature,
  kExpired,
  kNotYetValid,
  kWrongIssuer,
  kWrongAudience,
  kInvalidClaims,  // missing exp, a sub that does not match the kubernetes.io claim, ...
};

const char* tokenFailureName(TokenFailure failure);

struct TokenVerification {
  TokenFailure failure = TokenFailure::kNone;
  std::string error;  // names what failed, e.g. "token expired at 1700000000 (now 1700000100)"
  ServiceAccountClaims claims;  // filled when ok()
  bool ok() const { return failure == TokenFailure::kNone; }
};

// Verifies against any of keys (the one whose kid matches first). Throws PkiError only when
// options lack issuers or audiences.
TokenVerification verifyServiceAccountToken(std::string_view token,
                                            const std::vector<PublicKey>& keys,
                                            const TokenVerifyOptions& options);

}  // namespace kite::pki
