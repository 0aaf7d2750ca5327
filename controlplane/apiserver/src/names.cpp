#include "names.h"

#include <random>

namespace kite::controlplane::apiserver {

namespace {

bool isAlnumLower(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

bool isLabel(std::string_view s) {
  if (s.empty() || s.size() > 63) return false;
  if (!isAlnumLower(s.front()) || !isAlnumLower(s.back())) return false;
  for (char c : s) {
    if (!isAlnumLower(c) && c != '-') return false;
  }
  return true;
}

}  // namespace

std::string checkDnsLabel(std::string_view name) {
  if (name.size() > 63) return "must be no more than 63 characters";
  if (isLabel(name)) return {};
  return "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
         "and must start and end with an alphanumeric character (e.g. 'my-name',  or "
         "'123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
}

std::string checkDnsSubdomain(std::string_view name) {
  if (name.size() > 253) return "must be no more than 253 characters";
  bool ok = !name.empty();
  std::size_t i = 0;
  while (ok && i <= name.size()) {
    std::size_t j = name.find('.', i);
    if (j == std::string_view::npos) j = name.size();
    std::string_view part = name.substr(i, j - i);
    // Subdomain parts may be up to the whole length; only the character rules apply.
    ok = !part.empty() && isAlnumLower(part.front()) && isAlnumLower(part.back());
    for (char c : part) ok = ok && (isAlnumLower(c) || c == '-');
    i = j + 1;
  }
  if (ok) return {};
  return "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, "
         "'-' or '.', and must start and end with an alphanumeric character (e.g. "
         "'example.com', regex used for validation is "
         "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
}

std::string checkPathSegment(std::string_view name) {
  if (name == ".") return "may not be '.'";
  if (name == "..") return "may not be '..'";
  if (name.find('/') != std::string_view::npos) return "may not contain '/'";
  if (name.find('%') != std::string_view::npos) return "may not contain '%'";
  return {};
}

std::string generateNameFrom(std::string_view prefix) {
  static constexpr std::string_view kAlphabet = "bcdfghjklmnpqrstvwxz2456789";
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::uniform_int_distribution<std::size_t> pick(0, kAlphabet.size() - 1);
  std::string out(prefix.substr(0, 58));
  for (int i = 0; i < 5; ++i) out.push_back(kAlphabet[pick(rng)]);
  return out;
}

}  // namespace kite::controlplane::apiserver
