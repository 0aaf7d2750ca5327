#include "pod_validation_formats.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <initializer_list>

namespace kite::api::podvalidation {

namespace {

bool isLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool isAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool isDigit(char c) { return c >= '0' && c <= '9'; }

bool isLabelShape(std::string_view s) {
  if (s.empty() || !isLowerAlnum(s.front()) || !isLowerAlnum(s.back())) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return isLowerAlnum(c) || c == '-'; });
}

// Upstream's RegexError: the message, examples and the regular expression used.
std::string regexError(std::string_view message, std::string_view regex,
                       std::initializer_list<std::string_view> examples) {
  std::string out(message);
  out += " (e.g. ";
  bool first = true;
  for (const auto example : examples) {
    if (!first) out += " or ";
    first = false;
    out.append("'").append(example).append("', ");
  }
  out.append("regex used for validation is '").append(regex).append("')");
  return out;
}

std::string maxLength(std::size_t n) {
  return "must be no more than " + std::to_string(n) + " characters";
}

// Names that a kubelet would turn into a path: "." and ".." would escape the directory.
void chdirPrefixErrors(std::string_view value, Messages& out) {
  if (value == ".") {
    out.emplace_back("must not be '.'");
  } else if (value == "..") {
    out.emplace_back("must not be '..'");
  } else if (value.starts_with("..")) {
    out.emplace_back("must not start with '..'");
  }
}

}  // namespace

std::string inclusiveRange(int64_t lo, int64_t hi) {
  return "must be between " + std::to_string(lo) + " and " + std::to_string(hi) + ", inclusive";
}

Messages dnsLabelErrors(std::string_view value) {
  Messages out;
  if (value.size() > 63) out.push_back(maxLength(63));
  if (!isLabelShape(value)) {
    out.push_back(regexError(
        "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
        "and must start and end with an alphanumeric character",
        "[a-z0-9]([-a-z0-9]*[a-z0-9])?", {"my-name", "123-abc"}));
  }
  return out;
}

Messages dnsSubdomainErrors(std::string_view value, bool prefix) {
  std::string checked(value);
  // A generateName-style prefix may end in '-': check it as if a character followed.
  if (prefix && !checked.empty() && checked.back() == '-') checked.back() = 'a';
  Messages out;
  if (checked.size() > 253) out.push_back(maxLength(253));
  bool ok = !checked.empty();
  std::size_t start = 0;
  while (ok && start <= checked.size()) {
    std::size_t dot = checked.find('.', start);
    if (dot == std::string::npos) dot = checked.size();
    ok = isLabelShape(std::string_view(checked).substr(start, dot - start));
    start = dot + 1;
  }
  if (!ok) {
    out.push_back(regexError(
        "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' "
        "or '.', and must start and end with an alphanumeric character",
        "[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*", {"example.com"}));
  }
  return out;
}

Messages portNameErrors(std::string_view value) {
  Messages out;
  if (value.size() > 15) out.push_back(maxLength(15));
  const bool charset = !value.empty() && std::all_of(value.begin(), value.end(), [](char c) {
    return isLowerAlnum(c) || c == '-';
  });
  if (!charset) {
    out.emplace_back("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)");
  }
  if (std::none_of(value.begin(), value.end(), [](char c) { return c >= 'a' && c <= 'z'; })) {
    out.emplace_back("must contain at least one letter (a-z)");
  }
  if (value.find("--") != std::string_view::npos) {
    out.emplace_back("must not contain consecutive hyphens");
  }
  if (!value.empty() && (value.front() == '-' || value.back() == '-')) {
    out.emplace_back("must not begin or end with a hyphen");
  }
  return out;
}

Messages portNumberErrors(int64_t value) {
  if (value >= 1 && value <= 65535) return {};
  return {inclusiveRange(1, 65535)};
}

Messages envVarNameErrors(std::string_view value) {
  Messages out;
  const bool ok = !value.empty() && !isDigit(value.front()) &&
                  std::all_of(value.begin(), value.end(), [](char c) {
                    return isAlpha(c) || isDigit(c) || c == '-' || c == '.' || c == '_';
                  });
  if (!ok) {
    out.push_back(regexError(
        "a valid environment variable name must consist of alphabetic characters, digits, '_', "
        "'-', or '.', and must not start with a digit",
        "[-._a-zA-Z][-._a-zA-Z0-9]*", {"my.env-name", "MY_ENV.NAME", "MyEnvName1"}));
  }
  chdirPrefixErrors(value, out);
  return out;
}

Messages configMapKeyErrors(std::string_view value) {
  Messages out;
  if (value.size() > 253) out.push_back(maxLength(253));
  const bool ok = !value.empty() && std::all_of(value.begin(), value.end(), [](char c) {
    return isAlpha(c) || isDigit(c) || c == '-' || c == '.' || c == '_';
  });
  if (!ok) {
    out.push_back(
        regexError("a valid config key must consist of alphanumeric characters, '-', '_' or '.'",
                   "[-._a-zA-Z0-9]+", {"key.name", "KEY_NAME", "key-name"}));
  }
  chdirPrefixErrors(value, out);
  return out;
}

Messages httpHeaderNameErrors(std::string_view value) {
  const bool ok = !value.empty() && std::all_of(value.begin(), value.end(), [](char c) {
    return isAlpha(c) || isDigit(c) || c == '-';
  });
  if (ok) return {};
  return {regexError("a valid HTTP header must consist of alphanumeric characters or '-'",
                     "[-A-Za-z0-9]+", {"X-Header-Name"})};
}

bool isIpAddress(std::string_view value) {
  const std::string text(value);
  std::array<unsigned char, 16> buf{};
  return inet_pton(AF_INET, text.c_str(), buf.data()) == 1 ||
         inet_pton(AF_INET6, text.c_str(), buf.data()) == 1;
}

bool hasBacksteps(std::string_view path) {
  std::size_t start = 0;
  while (start <= path.size()) {
    std::size_t slash = path.find('/', start);
    if (slash == std::string_view::npos) slash = path.size();
    if (path.substr(start, slash - start) == "..") return true;
    start = slash + 1;
  }
  return false;
}

}  // namespace kite::api::podvalidation
