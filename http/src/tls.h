#pragma once
// TLS setup for the server: the OpenSSL context from TlsConfig (TLS 1.2+, ALPN, optional
// client certificates) and the identity of a verified client.

#include <boost/asio/ssl/context.hpp>
#include <optional>

#include "kite/http/server.h"

namespace kite::http::detail {

// Throws std::runtime_error naming the file that cannot be read or used.
// ALPN offers "h2" ahead of "http/1.1" when `http2` is set.
boost::asio::ssl::context makeTlsContext(const TlsConfig& config, bool http2);

// The subject of the client's certificate when one was presented and verified against the
// client CA; nullopt otherwise.
std::optional<PeerIdentity> verifiedPeer(SSL* ssl);

// The protocol ALPN agreed on ("h2", "http/1.1"), or empty when the client offered none.
std::string negotiatedProtocol(SSL* ssl);

}  // namespace kite::http::detail
