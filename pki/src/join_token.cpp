#include "kite/pki/join_token.h"

#include <algorithm>
#include <cctype>

#include "kite/pki/encoding.h"
#include "kite/pki/error.h"
#include "kite/pki/random.h"

namespace kite::pki {
namespace {

constexpr std::size_t kHashHexLength = 64;
constexpr std::size_t kSecretBytes = 16;

std::string_view trim(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front())) != 0) {
    text.remove_prefix(1);
  }
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back())) != 0) {
    text.remove_suffix(1);
  }
  return text;
}

bool isHex(std::string_view text) {
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; });
}

bool hasSpace(std::string_view text) {
  return std::any_of(text.begin(), text.end(),
                     [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; });
}

}  // namespace

std::string JoinToken::toString() const {
  if (caHash.empty()) return secret;
  std::string out(kTokenPrefix);
  out.append(caHash).append("::").append(username).append(":").append(secret);
  return out;
}

bool JoinToken::sameSecret(const JoinToken& other) const {
  return constantTimeEquals(secret, other.secret);
}

JoinToken JoinToken::parse(std::string_view text) {
  text = trim(text);
  if (text.empty()) throw PkiError("invalid join token: empty");
  JoinToken token;
  if (!text.starts_with(kTokenPrefix)) {
    if (hasSpace(text)) throw PkiError("invalid join token: contains whitespace");
    token.secret = std::string(text);
    return token;
  }
  text.remove_prefix(kTokenPrefix.size());
  const std::size_t separator = text.find("::");
  if (separator == std::string_view::npos) {
    throw PkiError("invalid join token: K10 form without \"::\" after the CA hash");
  }
  const std::string_view hash = text.substr(0, separator);
  if (hash.size() != kHashHexLength || !isHex(hash)) {
    throw PkiError("invalid join token: the CA hash must be 64 hex digits (SHA-256)");
  }
  const std::string_view credentials = text.substr(separator + 2);
  const std::size_t colon = credentials.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == credentials.size()) {
    throw PkiError("invalid join token: expected <username>:<secret> after the CA hash");
  }
  token.caHash = std::string(hash);
  std::transform(token.caHash.begin(), token.caHash.end(), token.caHash.begin(), [](char c) {
    return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  });
  token.username = std::string(credentials.substr(0, colon));
  token.secret = std::string(credentials.substr(colon + 1));
  if (hasSpace(token.username) || hasSpace(token.secret)) {
    throw PkiError("invalid join token: contains whitespace");
  }
  return token;
}

std::string generateTokenSecret() { return randomHex(kSecretBytes); }

std::string caBundleHash(std::string_view caBundlePem) { return sha256Hex(caBundlePem); }

JoinToken makeJoinToken(std::string_view caBundlePem, std::string secret, std::string username) {
  if (secret.empty()) throw PkiError("join token secret must not be empty");
  return {caBundleHash(caBundlePem), std::move(username), std::move(secret)};
}

CaCheck checkCaAgainstToken(const JoinToken& token, std::string_view caBundlePem) {
  if (!token.hasCaHash()) return CaCheck::kNoHash;
  return constantTimeEquals(token.caHash, caBundleHash(caBundlePem)) ? CaCheck::kMatch
                                                                     : CaCheck::kMismatch;
}

}  // namespace kite::pki
