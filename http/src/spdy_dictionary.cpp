// The SPDY/3 header compression dictionary, as the spec (draft 3, section 2.6.10.1) defines
// it: common header names and values, each preceded by its length as a 32-bit big-endian
// number, then a run of common text without lengths. Built once from the two lists.
#include <array>
#include <string>

#include "kite/http/spdy_header_block.h"

namespace kite::http {
namespace {

constexpr std::array<std::string_view, 66> kWords = {
    "options",
    "head",
    "post",
    "put",
    "delete",
    "trace",
    "accept",
    "accept-charset",
    "accept-encoding",
    "accept-language",
    "accept-ranges",
    "age",
    "allow",
    "authorization",
    "cache-control",
    "connection",
    "content-base",
    "content-encoding",
    "content-language",
    "content-length",
    "content-location",
    "content-md5",
    "content-range",
    "content-type",
    "date",
    "etag",
    "expect",
    "expires",
    "from",
    "host",
    "if-match",
    "if-modified-since",
    "if-none-match",
    "if-range",
    "if-unmodified-since",
    "last-modified",
    "location",
    "max-forwards",
    "pragma",
    "proxy-authenticate",
    "proxy-authorization",
    "range",
    "referer",
    "retry-after",
    "server",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "user-agent",
    "vary",
    "via",
    "warning",
    "www-authenticate",
    "method",
    "get",
    "status",
    "200 OK",
    "version",
    "HTTP/1.1",
    "url",
    "public",
    "set-cookie",
    "keep-alive",
    "origin",
    // (the list ends here; the rest has no length prefixes)
    "",
};

constexpr std::array<std::string_view, 17> kTail = {
    "100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505",
    "203 Non-Authoritative Information",
    "204 No Content",
    "301 Moved Permanently",
    "400 Bad Request",
    "401 Unauthorized",
    "403 Forbidden",
    "404 Not Found",
    "500 Internal Server Error",
    "501 Not Implemented",
    "503 Service Unavailable",
    "Jan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec",
    " 00:00:00",
    " Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMT",
    "chunked,text/html,image/png,image/jpg,image/gif,application/xml,application/xhtml+xml,"
    "text/plain,text/javascript,public",
    "privatemax-age=gzip,deflate,sdch",
    "charset=utf-8charset=iso-8859-1,utf-,*,enq=0.",
};

std::string build() {
  std::string out;
  for (const auto word : kWords) {
    if (word.empty()) break;
    const auto n = static_cast<std::uint32_t>(word.size());
    for (int shift = 24; shift >= 0; shift -= 8) {
      out.push_back(static_cast<char>((n >> static_cast<unsigned>(shift)) & 0xFFU));
    }
    out.append(word);
  }
  for (const auto text : kTail) out.append(text);
  return out;
}

}  // namespace

std::string_view spdyHeaderDictionary() {
  static const std::string dictionary = build();
  return dictionary;
}

}  // namespace kite::http
