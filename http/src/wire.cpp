#include "wire.h"

#include <array>
#include <boost/beast/http/status.hpp>

namespace kite::http::detail {
namespace {

int hexValue(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

std::optional<std::string> percentDecode(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size()) {
        return std::nullopt;
      }
      const int high = hexValue(in[i + 1]);
      const int low = hexValue(in[i + 2]);
      if (high < 0 || low < 0) {
        return std::nullopt;
      }
      c = static_cast<char>(high * 16 + low);
      i += 2;
    }
    if (c == '\0') {
      return std::nullopt;
    }
    out.push_back(c);
  }
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) {
    return false;
  }
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i];
    char y = b[i];
    if (x >= 'A' && x <= 'Z') {
      x = static_cast<char>(x - 'A' + 'a');
    }
    if (y >= 'A' && y <= 'Z') {
      y = static_cast<char>(y - 'A' + 'a');
    }
    if (x != y) {
      return false;
    }
  }
  return true;
}

bool isTokenChar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
    return true;
  }
  constexpr std::string_view kSpecials = "!#$%&'*+-.^_`|~";
  return kSpecials.find(c) != std::string_view::npos;
}

bool validHeader(std::string_view name, std::string_view value) {
  if (name.empty()) {
    return false;
  }
  for (const char c : name) {
    if (!isTokenChar(c)) {
      return false;
    }
  }
  return value.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

bool serverOwned(std::string_view name) {
  return iequals(name, "content-length") || iequals(name, "transfer-encoding") ||
         iequals(name, "connection");
}

}  // namespace

std::optional<SplitTarget> splitTarget(std::string_view target) {
  std::string_view rest = target;
  // Absolute-form is what a client sends through a proxy; a server must accept it. The
  // authority is not needed: every name served here is the same server.
  for (const std::string_view scheme :
       {std::string_view("https://"), std::string_view("http://")}) {
    if (rest.size() >= scheme.size() && iequals(rest.substr(0, scheme.size()), scheme)) {
      rest.remove_prefix(scheme.size());
      const auto pathStart = rest.find_first_of("/?");
      rest = pathStart == std::string_view::npos ? std::string_view("/") : rest.substr(pathStart);
      if (rest.front() == '?') {
        return splitTarget(std::string("/").append(rest));
      }
      break;
    }
  }
  if (rest.empty() || rest.front() != '/') {
    return std::nullopt;
  }
  SplitTarget split;
  const auto question = rest.find('?');
  if (question != std::string_view::npos) {
    split.query = std::string(rest.substr(question + 1));
    rest = rest.substr(0, question);
  }
  auto path = percentDecode(rest);
  if (!path) {
    return std::nullopt;
  }
  split.path = std::move(*path);
  return split;
}

std::string_view reasonPhrase(int status) {
  if (status < 100 || status > 999) {
    return "Unknown";
  }
  const auto known = boost::beast::http::int_to_status(static_cast<unsigned>(status));
  if (known == boost::beast::http::status::unknown) {
    return "Unknown";
  }
  const auto phrase = boost::beast::http::obsolete_reason(known);
  return {phrase.data(), phrase.size()};
}

bool statusHasBody(int status) { return status >= 200 && status != 204 && status != 304; }

bool wantsClose(const Headers& headers) {
  for (const auto& [name, value] : headers) {
    if (iequals(name, "connection") && iequals(value, "close")) {
      return true;
    }
  }
  return false;
}

void appendHead(std::string& out, int status, const Headers& headers) {
  out.append("HTTP/1.1 ");
  out.append(std::to_string(status));
  out.push_back(' ');
  out.append(reasonPhrase(status));
  out.append("\r\n");
  for (const auto& [name, value] : headers) {
    if (serverOwned(name) || !validHeader(name, value)) {
      continue;
    }
    out.append(name);
    out.append(": ");
    out.append(value);
    out.append("\r\n");
  }
}

void appendChunkSize(std::string& out, std::size_t size) {
  std::array<char, 2 * sizeof(std::size_t)> digits{};
  std::size_t used = 0;
  do {
    digits.at(used++) = "0123456789abcdef"[size % 16];
    size /= 16;
  } while (size != 0);
  while (used > 0) {
    out.push_back(digits.at(--used));
  }
  out.append("\r\n");
}

void toLower(std::string& text) {
  for (char& c : text) {
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
  }
}

}  // namespace kite::http::detail
