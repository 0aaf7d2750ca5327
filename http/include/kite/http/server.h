#pragma once
// kite's HTTPS server: TLS only, HTTP/2 (chosen by ALPN "h2") and HTTP/1.1 (keep-alive,
// chunked streaming for watches and logs), client-certificate identities, and handlers run on a
// worker pool so a handler may block (a durable write) without stalling other connections. The API
// server and the kubelet server both serve through it. Event-driven (Boost.Asio/Beast): a long
// watch costs a connection and a queue, not a thread.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kite::http {

// Header names are kept lower-case.
using Headers = std::vector<std::pair<std::string, std::string>>;

// Who is on the other end of a connection, from a client certificate that verified against
// the server's client CA.
struct PeerIdentity {
  std::string commonName;                  // subject CN: the user name
  std::vector<std::string> organizations;  // subject O: the groups
};

struct Request {
  std::string method;  // "GET", "POST", ...
  std::string target;  // as sent: path and query, percent-encoded
  std::string path;    // decoded path, without the query
  std::string query;   // raw query string after '?', still percent-encoded
  Headers headers;
  std::string body;
  std::optional<PeerIdentity> peer;
  std::string remoteAddress;  // "127.0.0.1:53412"

  // First header with this (lower-case) name.
  std::optional<std::string_view> header(std::string_view name) const;
};

struct Response {
  int status = 200;
  Headers headers;  // Content-Length is set by the server
  std::string body;
};

// A response whose body is sent piece by piece (chunked on HTTP/1.1, DATA frames on HTTP/2),
// e.g. a watch. Thread-safe.
class Stream {
 public:
  virtual ~Stream() = default;
  // Queues a piece and returns at once. False when the stream is closed, or when the client
  // reads too slowly and more than the server's per-stream limit is queued; the server then
  // drops the watcher (as the Kubernetes API server drops one that cannot keep up): it closes
  // the HTTP/1.1 connection, or resets just this HTTP/2 stream.
  virtual bool write(std::string data) = 0;
  // Ends the body (final chunk, or END_STREAM); the connection may serve further requests.
  virtual void close() = 0;
  // True once closed by either side.
  virtual bool closed() const = 0;
  // Runs once, from a server thread, when the stream closes for any reason (also when
  // already closed at registration: then it runs at once, on the calling thread). It runs on
  // an io thread: keep it short and never block in it (cancel a watch, signal a queue).
  virtual void onClose(std::function<void()> callback) = 0;
};

// A raw byte stream in both directions: an HTTP/1.1 connection after "101 Switching
// Protocols" (exec, attach, port-forward), or an outbound client connection (client.h).
// Thread-safe.
class Tunnel {
 public:
  using DataCallback = std::function<void(std::string data)>;
  virtual ~Tunnel() = default;
  // Starts delivering the peer's bytes to `onData` (bytes that arrived earlier come first),
  // then runs `onClose` once when the peer closes or the tunnel fails. Both run on an io
  // thread, one at a time: keep them short. Call once.
  virtual void start(DataCallback onData, std::function<void()> onClose) = 0;
  // Queues bytes for the peer; false once closed.
  virtual bool write(std::string data) = 0;
  // Sends what is queued, then closes. Idempotent; onClose runs if it has not yet.
  virtual void close() = 0;

  // Flow control, for relays that must not buffer without bound (remote_command_pipe.h).
  // Bytes written and not yet handed to the socket.
  virtual std::size_t queuedBytes() const { return 0; }
  // Runs `callback` on the io thread each time the queued bytes fall to `lowWater` or below
  // from above it. Set once, before writing; dropped when the tunnel ends.
  // NOLINTNEXTLINE(performance-unnecessary-value-param): overriders keep it
  virtual void onDrained(std::size_t /*lowWater*/, std::function<void()> /*callback*/) {}
  // Stops (false) or resumes (true) reading the peer's bytes, so that TCP holds the peer back;
  // a read already under way is still delivered, and the peer's end is seen once resumed.
  virtual void setReading(bool /*reading*/) {}
};

// One per request. Exactly one of respond(), startStream() or upgrade() is called, from any
// thread and at any time (a handler may return first and answer later).
class Responder {
 public:
  virtual ~Responder() = default;
  virtual void respond(Response response) = 0;
  virtual std::shared_ptr<Stream> startStream(int status, Headers headers) = 0;
  // Answers `switching` (status 101; its headers should name the protocol in "upgrade") and
  // hands over the connection's raw bytes. HTTP/2 has no upgrades: there the client gets 400
  // and the result is null (kubectl then retries over HTTP/1.1 or with another protocol).
  virtual std::shared_ptr<Tunnel> upgrade(Response switching);
};

// True when the request asks for an HTTP/1.1 protocol upgrade ("connection: upgrade").
bool isUpgradeRequest(const Request& request);

using Handler = std::function<void(Request& request, std::shared_ptr<Responder> responder)>;

struct TlsConfig {
  std::string certificateFile;  // PEM chain, server certificate first
  std::string privateKeyFile;   // PEM
  // PEM CA bundle for client certificates. When set, a client certificate is requested
  // (not required: bearer tokens authenticate too) and, if given, must verify against it.
  std::string clientCaFile;
};

struct ServerOptions {
  std::string bindAddress = "0.0.0.0";  // "::" for both families
  std::uint16_t port = 0;               // 0: any free port (see Server::port())
  TlsConfig tls;
  unsigned ioThreads = 1;
  unsigned workerThreads = 16;
  std::size_t maxBodyBytes = std::size_t{3} * 1024 * 1024;  // larger bodies: 413
  std::size_t maxHeaderBytes = std::size_t{64} * 1024;      // larger headers: 431
  std::size_t maxStreamQueueBytes = std::size_t{16} * 1024 * 1024;
  // Closes a keep-alive connection that sends no complete request for this long, and one
  // that does not take a response's bytes for this long.
  std::chrono::seconds idleTimeout{120};
  // Closes a connection whose TLS handshake has not finished by then (a silent client must
  // not hold a slot).
  std::chrono::seconds handshakeTimeout{10};
  // Offer HTTP/2 ("h2") in ALPN ahead of http/1.1. Clients that offer only http/1.1, or no
  // ALPN at all, get HTTP/1.1 either way. On HTTP/2, idleTimeout closes a connection (with
  // GOAWAY) that has no open stream for that long; header and body limits apply per stream.
  bool enableHttp2 = true;
  // SETTINGS_MAX_CONCURRENT_STREAMS: streams (requests, watches) open at once on one HTTP/2
  // connection; more are refused with RST_STREAM(REFUSED_STREAM).
  std::uint32_t maxConcurrentStreams = 250;
};

class Server {
 public:
  virtual ~Server() = default;
  // The bound port (useful with port 0).
  virtual std::uint16_t port() const = 0;
  // Stops accepting, closes connections and streams (HTTP/2 connections get a GOAWAY first),
  // joins the threads. Idempotent.
  virtual void stop() = 0;
};

// Binds and starts serving at once; throws std::runtime_error naming the address or file
// that failed (port in use, unreadable key, ...).
std::unique_ptr<Server> startServer(const ServerOptions& options, Handler handler);

}  // namespace kite::http
