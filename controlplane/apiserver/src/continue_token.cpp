#include "continue_token.h"

#include <array>

#include "api_error.h"

namespace kite::controlplane::apiserver {

namespace {

constexpr std::string_view kAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string base64url(std::string_view in) {
  std::string out;
  std::size_t i = 0;
  while (i + 2 < in.size()) {
    const unsigned v = (static_cast<unsigned char>(in[i]) << 16) |
                       (static_cast<unsigned char>(in[i + 1]) << 8) |
                       static_cast<unsigned char>(in[i + 2]);
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(kAlphabet[(v >> 6) & 63]);
    out.push_back(kAlphabet[v & 63]);
    i += 3;
  }
  if (i < in.size()) {
    unsigned v = static_cast<unsigned char>(in[i]) << 16;
    if (i + 1 < in.size()) v |= static_cast<unsigned char>(in[i + 1]) << 8;
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    if (i + 1 < in.size()) out.push_back(kAlphabet[(v >> 6) & 63]);
  }
  return out;
}

std::string unbase64url(std::string_view in) {
  std::array<int, 256> table{};
  table.fill(-1);
  for (std::size_t i = 0; i < kAlphabet.size(); ++i) {
    table[static_cast<unsigned char>(kAlphabet[i])] = static_cast<int>(i);
  }
  std::string out;
  unsigned acc = 0;
  int bits = 0;
  for (char c : in) {
    const int v = table[static_cast<unsigned char>(c)];
    if (v < 0) throw ApiError::badRequest("invalid continue token");
    acc = (acc << 6) | static_cast<unsigned>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 255));
    }
  }
  return out;
}

}  // namespace

std::string ContinueToken::encode() const {
  std::string raw = std::to_string(revision);
  raw.push_back(':');
  raw.append(lastKey);
  return base64url(raw);
}

ContinueToken ContinueToken::decode(std::string_view token) {
  const std::string raw = unbase64url(token);
  const auto colon = raw.find(':');
  if (colon == std::string::npos || colon == 0 || colon > 19) {
    throw ApiError::badRequest("invalid continue token");
  }
  ContinueToken t;
  for (std::size_t i = 0; i < colon; ++i) {
    if (raw[i] < '0' || raw[i] > '9') throw ApiError::badRequest("invalid continue token");
    t.revision = t.revision * 10 + (raw[i] - '0');
  }
  t.lastKey = raw.substr(colon + 1);
  return t;
}

}  // namespace kite::controlplane::apiserver
