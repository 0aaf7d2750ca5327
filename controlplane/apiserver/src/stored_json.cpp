#include "stored_json.h"

#include <array>
#include <cstdio>
#include <random>

namespace kite::controlplane::apiserver {

void appendWithResourceVersion(std::string& out, std::string_view json, Revision rv) {
  static constexpr std::string_view kMeta = "\"metadata\":{";
  char digits[24];
  const int n = std::snprintf(digits, sizeof digits, "%lld", static_cast<long long>(rv));
  const std::string_view number(digits, static_cast<std::size_t>(n));
  const std::size_t at = json.find(kMeta);
  // Only trust a match before any nested object: the top-level member.
  const std::size_t firstBrace = json.find('{', 1);
  if (at != std::string_view::npos && firstBrace != std::string_view::npos &&
      firstBrace == at + kMeta.size() - 1) {
    const std::size_t insert = at + kMeta.size();
    out.append(json.substr(0, insert));
    out.append("\"resourceVersion\":\"").append(number).append("\"");
    if (insert < json.size() && json[insert] != '}') out.push_back(',');
    out.append(json.substr(insert));
    return;
  }
  // No metadata member: add one at the start of the object.
  const std::size_t open = json.find('{');
  if (open == std::string_view::npos) {
    out.append(json);
    return;
  }
  out.append(json.substr(0, open + 1));
  out.append("\"metadata\":{\"resourceVersion\":\"").append(number).append("\"}");
  if (open + 1 < json.size() && json[open + 1] != '}') out.push_back(',');
  out.append(json.substr(open + 1));
}

std::string withResourceVersion(std::string_view json, Revision rv) {
  std::string out;
  out.reserve(json.size() + 48);
  appendWithResourceVersion(out, json, rv);
  return out;
}

std::string newUid() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::array<unsigned char, 16> b{};
  for (std::size_t i = 0; i < b.size(); i += 8) {
    const auto r = rng();
    for (std::size_t j = 0; j < 8; ++j) b[i + j] = static_cast<unsigned char>(r >> (j * 8));
  }
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);
  std::array<char, 37> out{};
  std::snprintf(out.data(), out.size(),
                "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
                b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
                b[15]);
  return {out.data(), 36};
}

}  // namespace kite::controlplane::apiserver
