#pragma once
// HTTP/1.1 wire details shared by the connection code: request-target splitting and path
// decoding, status lines, response heads and chunk framing.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "kite/http/server.h"

namespace kite::http::detail {

struct SplitTarget {
  std::string path;   // percent-decoded
  std::string query;  // raw, after '?'
};

// Splits a request target (origin-form "/a%20b?x=1", or absolute-form
// "https://host/a?x=1") into its decoded path and raw query. nullopt when the target is not
// one of those forms, has a bad escape, or decodes to a NUL.
std::optional<SplitTarget> splitTarget(std::string_view target);

// "OK", "Not Found", ...; "Unknown" for codes without a registered phrase.
std::string_view reasonPhrase(int status);

// 1xx, 204 and 304 responses never carry a body (nor Content-Length).
bool statusHasBody(int status);

// True when the handler's headers ask to close the connection after this response.
bool wantsClose(const Headers& headers);

// Appends the status line and the handler's headers. Headers the server owns
// (content-length, transfer-encoding, connection) and headers that are not valid on the wire
// (a name that is not a token, CR/LF/NUL in a value) are left out. No final CRLF.
void appendHead(std::string& out, int status, const Headers& headers);

// Appends "<hex size>\r\n".
void appendChunkSize(std::string& out, std::size_t size);

// Lower-cases ASCII letters in place (header names).
void toLower(std::string& text);

}  // namespace kite::http::detail
