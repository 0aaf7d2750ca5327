#pragma once
// An outbound HTTP/1.1 connection, plain TCP or TLS, for the proxy hops kite makes: the API
// server to a kubelet (TLS, client certificate), the kubelet to the runtime's streaming server
// (plain HTTP on loopback). It sends one request, reads the response head, and then is a Tunnel:
// the response body, or after a 101 the upgraded protocol's bytes, flow through it raw.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "kite/http/relay_bounds.h"
#include "kite/http/server.h"

namespace kite::http {

struct ClientTls {
  std::string caFile;           // PEM bundle the server's certificate must verify against
  std::string certificateFile;  // optional client certificate (PEM) ...
  std::string privateKeyFile;   // ... and its key
  std::string serverName;       // checked against the certificate; empty: the host
};

struct ClientRequest {
  std::string method = "GET";
  std::string target = "/";  // path and query, already percent-encoded
  Headers headers;           // "host" is added when missing
  std::string body;
  bool http10 = false;  // HTTP/1.0: the body of the answer ends with the connection
};

class ClientConnection : public Tunnel {
 public:
  // Connects and sends `request`, then reads the response head (all within `timeout`).
  // The returned response has status and headers; its body is what the tunnel delivers.
  // Throws std::runtime_error naming host:port when connecting, TLS or the exchange fails.
  static std::shared_ptr<ClientConnection> open(const std::string& host, std::uint16_t port,
                                                const std::optional<ClientTls>& tls,
                                                const ClientRequest& request,
                                                std::chrono::milliseconds timeout, Response& head);
};

// Pipes two tunnels into each other until either closes, then closes both. Bounded: while
// more than bounds.highWater bytes wait to be sent to one side, the other is not read (until
// they are down to bounds.lowWater), so a fast sender cannot pile bytes up here.
void pipeTunnels(const std::shared_ptr<Tunnel>& a, const std::shared_ptr<Tunnel>& b,
                 RelayBounds bounds = {});

// Parses "scheme://host:port/path?query" (http or https). nullopt when malformed.
struct Url {
  bool https = false;
  std::string host;
  std::uint16_t port = 0;
  std::string target;  // "/path?query"
};
std::optional<Url> parseUrl(const std::string& url);

}  // namespace kite::http
