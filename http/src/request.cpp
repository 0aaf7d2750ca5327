#include <cctype>

#include "kite/http/server.h"

namespace kite::http {
namespace {

bool containsToken(std::string_view list, std::string_view token) {
  std::size_t at = 0;
  while (at <= list.size()) {
    std::size_t end = list.find(',', at);
    if (end == std::string_view::npos) {
      end = list.size();
    }
    std::string_view item = list.substr(at, end - at);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) {
      item.remove_prefix(1);
    }
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) {
      item.remove_suffix(1);
    }
    if (item.size() == token.size()) {
      bool same = true;
      for (std::size_t i = 0; i < item.size() && same; ++i) {
        same = std::tolower(static_cast<unsigned char>(item[i])) == token[i];
      }
      if (same) {
        return true;
      }
    }
    at = end + 1;
  }
  return false;
}

}  // namespace

std::optional<std::string_view> Request::header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (key == name) {
      return std::string_view(value);
    }
  }
  return std::nullopt;
}

bool isUpgradeRequest(const Request& request) {
  const auto connection = request.header("connection");
  return connection && request.header("upgrade") && containsToken(*connection, "upgrade");
}

// NOLINTNEXTLINE(performance-unnecessary-value-param): the interface takes it by value
std::shared_ptr<Tunnel> Responder::upgrade(Response /*switching*/) {
  // A responder without a byte stream under it (HTTP/2, a test fake) cannot switch.
  Response refusal;
  refusal.status = 400;
  refusal.headers.emplace_back("content-type", "text/plain; charset=utf-8");
  refusal.body = "protocol upgrades need HTTP/1.1\n";
  respond(std::move(refusal));
  return nullptr;
}

}  // namespace kite::http
