#include "kite/pki/encoding.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <array>
#include <cstdint>

namespace kite::pki {
namespace {

constexpr std::string_view kStandard =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr std::string_view kUrl =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string encode(std::string_view bytes, std::string_view alphabet, bool pad) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const std::uint32_t n = (static_cast<std::uint8_t>(bytes[i]) << 16U) |
                            (static_cast<std::uint8_t>(bytes[i + 1]) << 8U) |
                            static_cast<std::uint8_t>(bytes[i + 2]);
    out.push_back(alphabet[(n >> 18U) & 63U]);
    out.push_back(alphabet[(n >> 12U) & 63U]);
    out.push_back(alphabet[(n >> 6U) & 63U]);
    out.push_back(alphabet[n & 63U]);
  }
  const std::size_t rest = bytes.size() - i;
  if (rest == 1) {
    const std::uint32_t n = static_cast<std::uint8_t>(bytes[i]) << 16U;
    out.push_back(alphabet[(n >> 18U) & 63U]);
    out.push_back(alphabet[(n >> 12U) & 63U]);
    if (pad) out.append("==");
  } else if (rest == 2) {
    const std::uint32_t n = (static_cast<std::uint8_t>(bytes[i]) << 16U) |
                            (static_cast<std::uint8_t>(bytes[i + 1]) << 8U);
    out.push_back(alphabet[(n >> 18U) & 63U]);
    out.push_back(alphabet[(n >> 12U) & 63U]);
    out.push_back(alphabet[(n >> 6U) & 63U]);
    if (pad) out.push_back('=');
  }
  return out;
}

// Decodes unpadded text in the given alphabet.
std::optional<std::string> decode(std::string_view text, std::string_view alphabet) {
  if (text.size() % 4 == 1) return std::nullopt;
  std::array<int, 256> value{};
  value.fill(-1);
  for (std::size_t i = 0; i < alphabet.size(); ++i) {
    value[static_cast<std::uint8_t>(alphabet[i])] = static_cast<int>(i);
  }
  std::string out;
  out.reserve(text.size() * 3 / 4);
  std::uint32_t buffer = 0;
  unsigned bits = 0;
  for (const char c : text) {
    const int v = value[static_cast<std::uint8_t>(c)];
    if (v < 0) return std::nullopt;
    buffer = (buffer << 6U) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((buffer >> bits) & 0xFFU));
    }
  }
  // Leftover bits must be zero, so every byte string has exactly one encoding.
  if ((buffer & ((1U << bits) - 1U)) != 0) return std::nullopt;
  return out;
}

}  // namespace

std::string base64Encode(std::string_view bytes) { return encode(bytes, kStandard, true); }

std::optional<std::string> base64Decode(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  std::size_t padding = 0;
  while (padding < 2 && text.size() > padding && text[text.size() - 1 - padding] == '=') {
    ++padding;
  }
  return decode(text.substr(0, text.size() - padding), kStandard);
}

std::string base64UrlEncode(std::string_view bytes) { return encode(bytes, kUrl, false); }

std::optional<std::string> base64UrlDecode(std::string_view text) { return decode(text, kUrl); }

std::string hexEncode(std::string_view bytes) {
  constexpr std::string_view kDigits = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (const char c : bytes) {
    const auto b = static_cast<std::uint8_t>(c);
    out.push_back(kDigits[b >> 4U]);
    out.push_back(kDigits[b & 15U]);
  }
  return out;
}

std::string sha256(std::string_view bytes) {
  std::array<unsigned char, SHA256_DIGEST_LENGTH> digest{};
  SHA256(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), digest.data());
  return {reinterpret_cast<const char*>(digest.data()), digest.size()};
}

std::string sha256Hex(std::string_view bytes) { return hexEncode(sha256(bytes)); }

bool constantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace kite::pki
