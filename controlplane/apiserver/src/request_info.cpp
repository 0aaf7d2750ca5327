#include "request_info.h"

#include <algorithm>

#include "api_error.h"

namespace kite::controlplane::apiserver {

namespace {

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::vector<std::string> splitPath(std::string_view path) {
  std::vector<std::string> parts;
  std::size_t i = 0;
  while (i < path.size()) {
    while (i < path.size() && path[i] == '/') ++i;
    std::size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    if (j > i) parts.emplace_back(path.substr(i, j - i));
    i = j;
  }
  return parts;
}

// What Go's strconv.ParseBool reads as true (python3-kubernetes sends watch=True).
bool isTrue(const std::string& v) {
  return v == "1" || v == "t" || v == "T" || v == "true" || v == "True" || v == "TRUE";
}

}  // namespace

std::string percentDecode(std::string_view in, bool plusIsSpace) {
  std::string out;
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size()) {
        throw ApiError::badRequest("invalid URL escape in query");
      }
      const int hi = hexValue(in[i + 1]);
      const int lo = hexValue(in[i + 2]);
      if (hi < 0 || lo < 0) throw ApiError::badRequest("invalid URL escape in query");
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && plusIsSpace) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

Query Query::parse(std::string_view raw) {
  Query q;
  std::size_t i = 0;
  while (i <= raw.size()) {
    std::size_t j = raw.find('&', i);
    if (j == std::string_view::npos) j = raw.size();
    const std::string_view pair = raw.substr(i, j - i);
    if (!pair.empty()) {
      const std::size_t eq = pair.find('=');
      std::string key = percentDecode(pair.substr(0, eq), true);
      std::string value =
          eq == std::string_view::npos ? std::string() : percentDecode(pair.substr(eq + 1), true);
      q.values_[std::move(key)].push_back(std::move(value));
    }
    i = j + 1;
  }
  return q;
}

bool Query::has(std::string_view key) const { return values_.find(key) != values_.end(); }

std::string Query::get(std::string_view key) const {
  auto it = values_.find(key);
  if (it == values_.end() || it->second.empty()) return {};
  return it->second.front();
}

const std::vector<std::string>& Query::all(std::string_view key) const {
  static const std::vector<std::string> kNone;
  auto it = values_.find(key);
  return it == values_.end() ? kNone : it->second;
}

RequestInfo parseRequestInfo(std::string_view method, std::string_view path, const Query& query) {
  RequestInfo info;
  info.path = std::string(path);
  std::string lower(method);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  info.verb = lower;

  std::vector<std::string> parts = splitPath(path);
  if (parts.empty() || (parts[0] != "api" && parts[0] != "apis")) return info;
  info.apiPrefix = parts[0];
  std::size_t at = 1;
  if (info.apiPrefix == "apis") {
    if (parts.size() < 3) return info;  // /apis, /apis/GROUP: discovery
    info.group = parts[1];
    info.version = parts[2];
    at = 3;
  } else {
    if (parts.size() < 2) return info;  // /api
    info.version = parts[1];
    at = 2;
  }
  std::vector<std::string> rest(parts.begin() + static_cast<std::ptrdiff_t>(at), parts.end());
  if (rest.empty()) return info;  // /api/v1: resource discovery
  info.isResourceRequest = true;

  // The deprecated /watch/ path prefix means ?watch=true.
  bool watchPath = false;
  if (rest.front() == "watch") {
    watchPath = true;
    rest.erase(rest.begin());
  }
  // /namespaces/NS/RESOURCE/... except /namespaces/NS itself (and its subresources).
  // (status and finalize after namespaces/NAME are the Namespace's own subresources.)
  if (rest.size() >= 3 && rest[0] == "namespaces" && rest[2] != "status" && rest[2] != "finalize") {
    info.namespace_ = rest[1];
    rest.erase(rest.begin(), rest.begin() + 2);
  }
  // (namespaces/NAME[/SUB] is the Namespace object itself: its namespace stays empty.)
  info.parts = rest;
  if (!rest.empty()) info.resource = rest[0];
  if (rest.size() >= 2) info.name = rest[1];
  if (rest.size() >= 3) info.subresource = rest[2];

  const bool watch = watchPath || isTrue(query.get("watch"));
  if (lower == "get") {
    info.verb = info.name.empty() ? (watch ? "watch" : "list") : (watch ? "watch" : "get");
  } else if (lower == "post") {
    info.verb = "create";
  } else if (lower == "put") {
    info.verb = info.name.empty() ? "updatecollection" : "update";
  } else if (lower == "patch") {
    info.verb = info.name.empty() ? "patchcollection" : "patch";
  } else if (lower == "delete") {
    info.verb = info.name.empty() ? "deletecollection" : "delete";
  }
  return info;
}

}  // namespace kite::controlplane::apiserver
