#pragma once
// Byte encodings the pki pieces share: base64 (kubeconfig data fields), base64url without
// padding (JWT, RFC 7515 section 2), lower-case hex, and SHA-256.

#include <optional>
#include <string>
#include <string_view>

namespace kite::pki {

std::string base64Encode(std::string_view bytes);
// Standard alphabet with padding; nullopt for any other character or a bad length.
std::optional<std::string> base64Decode(std::string_view text);

// URL-safe alphabet, no '=' padding.
std::string base64UrlEncode(std::string_view bytes);
// Refuses padding, standard-alphabet characters and impossible lengths.
std::optional<std::string> base64UrlDecode(std::string_view text);

std::string hexEncode(std::string_view bytes);

// The 32-byte SHA-256 digest, raw and as lower-case hex.
std::string sha256(std::string_view bytes);
std::string sha256Hex(std::string_view bytes);

// Compares without an early exit, for secrets and digests.
bool constantTimeEquals(std::string_view a, std::string_view b);

}  // namespace kite::pki
