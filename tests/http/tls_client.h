#pragma once
// A small blocking HTTPS client on raw OpenSSL, for the tests that need control over the
// bytes and the connection: several requests on one connection, pipelining, garbage, a
// client that stops reading or disappears. Every read has a generous socket timeout, so a
// broken server fails the test instead of hanging it.

#include <openssl/ssl.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kite::http::testing {

struct ClientTls {
  std::string caFile;    // verifies the server
  std::string certFile;  // optional client certificate
  std::string keyFile;
};

struct Reply {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  std::string body;

  std::optional<std::string> header(std::string_view name) const;
};

class TlsClient {
 public:
  // Connects to 127.0.0.1:port and completes the TLS handshake, offering `protocols` in ALPN
  // (none: no ALPN extension); throws std::runtime_error when either fails.
  TlsClient(std::uint16_t port, const ClientTls& tls,
            const std::vector<std::string>& protocols = {"http/1.1"});
  ~TlsClient();
  TlsClient(const TlsClient&) = delete;
  TlsClient& operator=(const TlsClient&) = delete;

  void send(std::string_view data);
  // A whole reply: head, then a body framed by Content-Length or chunking (none for 1xx,
  // 204, 304). Throws when the connection ends first.
  Reply readReply();
  // Only the status line and headers (the body of a stream is read with readChunk).
  Reply readHead();
  // The next chunk's data; nullopt for the final chunk.
  std::optional<std::string> readChunk();
  // Reads (and drops) until the server closes the connection: true then; false if nothing
  // happened within the socket timeout.
  bool waitClosed();
  std::string alpn() const;
  // Raw bytes as they come (for the HTTP/2 client): nullopt once the connection has ended,
  // or after the socket timeout.
  std::optional<std::string> readSome();
  // Drops the TCP connection without a TLS close.
  void disconnect() const;

 private:
  bool fill();
  std::string readLine();
  std::string readExactly(std::size_t count);

  int fd_ = -1;
  SSL_CTX* context_ = nullptr;
  SSL* ssl_ = nullptr;
  std::string buffer_;
};

// A plain TCP connection that sends nothing; true once the server closes it.
bool silentClientIsDropped(std::uint16_t port);

}  // namespace kite::http::testing
