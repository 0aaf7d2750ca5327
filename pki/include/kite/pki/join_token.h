#pragma once
// The node join token in k3s's secure format:
//
//   K10<sha256 hex of the server CA bundle PEM bytes>::<username>:<secret>
//
// The hash lets a joining agent trust the server from the token alone: it fetches the CA
// bundle over an unverified connection, hashes the exact bytes, and compares with the token
// before trusting anything signed by that CA. The short form is the secret alone; an agent
// holding only that cannot check the CA. Secrets come from the CSPRNG.

#include <optional>
#include <string>
#include <string_view>

namespace kite::pki {

inline constexpr std::string_view kTokenPrefix = "K10";
inline constexpr std::string_view kServerTokenUser = "server";

struct JoinToken {
  std::string caHash;    // 64 lower-case hex digits; empty for the short form
  std::string username;  // "server" in the full form; empty for the short form
  std::string secret;

  bool hasCaHash() const { return !caHash.empty(); }
  // The full form when there is a CA hash, else the secret alone.
  std::string toString() const;
  // Constant-time comparison of the secrets only (what authenticates a joining node).
  bool sameSecret(const JoinToken& other) const;

  // Accepts the full form and the short form (surrounding whitespace ignored, as when read
  // from a file). Throws PkiError saying what is malformed, never echoing the secret.
  static JoinToken parse(std::string_view text);
};

// A new random secret: 16 CSPRNG bytes as 32 hex characters.
std::string generateTokenSecret();

// The full-form token for a server whose CA bundle is caBundlePem (the exact bytes served
// to agents).
JoinToken makeJoinToken(std::string_view caBundlePem, std::string secret,
                        std::string username = std::string(kServerTokenUser));

// The lower-case hex SHA-256 of the CA bundle bytes.
std::string caBundleHash(std::string_view caBundlePem);

enum class CaCheck {
  kMatch,     // the bundle's hash equals the token's
  kMismatch,  // a different CA: do not trust this server
  kNoHash,    // a short-form token: the CA cannot be checked from it
};
CaCheck checkCaAgainstToken(const JoinToken& token, std::string_view caBundlePem);

}  // namespace kite::pki
