#pragma once
// HTTPS to one API server: TLS verified against the configured CA (host name or IP checked),
// the client certificate or a bearer token, a pool of keep-alive connections shared by all
// threads, and streaming GETs for watches that hand over each line as it arrives and can be
// cancelled from another thread.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "kite/client/config.h"

namespace kite::client {

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  std::string method = "GET";
  // Path and query, already escaped: "/api/v1/namespaces/default/pods?limit=5".
  std::string target{};
  HttpHeaders headers{};
  std::string body{};
  std::string contentType{};  // of the body
};

struct HttpResponse {
  int status = 0;
  HttpHeaders headers{};
  std::string body{};

  // The first header of that name (case-insensitive), or "".
  std::string header(std::string_view name) const;
};

// Cancels one streaming request from any thread. Cancelling before the request starts makes it
// end at once; cancelling while it streams ends it promptly (the socket is shut down).
class StreamCanceller {
 public:
  void cancel();
  bool cancelled() const;

 private:
  friend class Transport;
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::atomic<bool> cancelled_{false};
  bool active_ = false;
  std::thread::id streamThread_;
  std::function<void()> stop_;  // stops the connection of the active stream
};

class Transport {
 public:
  // Throws ConfigError for an unusable server URL, certificate or key.
  explicit Transport(RestConfig config);
  ~Transport();
  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;

  const RestConfig& config() const { return config_; }

  // One request on a pooled connection. Any HTTP status is returned; throws TransportError
  // when no answer came.
  HttpResponse send(const HttpRequest& request);

  // A GET whose body is read line by line: onLine gets each complete line (without "\n") as it
  // arrives and returns false to stop. Returns the response with an empty body when the status
  // was 200 and the stream ended (server closed it, timeout, onLine said stop, or cancelled);
  // for another status the body holds the answer. `readTimeout` bounds the silence between
  // chunks. Throws TransportError when the connection fails before the response started or
  // breaks while streaming (not when cancelled).
  HttpResponse stream(const HttpRequest& request,
                      const std::function<bool(std::string_view)>& onLine,
                      StreamCanceller& canceller, std::chrono::milliseconds readTimeout);

  // Connections currently idle in the pool (for tests of connection reuse).
  std::size_t idleConnections() const;
  // Connections opened so far.
  std::size_t connectionsOpened() const;

 private:
  class Connection;
  std::unique_ptr<Connection> newConnection(std::chrono::milliseconds readTimeout);
  std::unique_ptr<Connection> acquire();
  void release(std::unique_ptr<Connection> connection);
  HttpHeaders commonHeaders();

  struct Tls;
  RestConfig config_;
  bool https_ = true;
  std::string host_;
  int port_ = 443;
  std::string pathPrefix_;
  std::unique_ptr<Tls> tls_;

  mutable std::mutex mutex_;
  std::vector<std::unique_ptr<Connection>> idle_;
  std::size_t opened_ = 0;
  std::string token_;
  std::chrono::steady_clock::time_point tokenReadAt_{};
};

}  // namespace kite::client
