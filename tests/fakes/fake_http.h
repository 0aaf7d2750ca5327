#pragma once
// A fake kite::http::Responder for unit tests of HTTP handlers: it records the response a
// handler gives, or the stream it starts and every piece written to it, and lets the test
// wait (with a deadline, as a guard against hangs) for a response or for stream pieces.

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "kite/http/server.h"

namespace kite::testing {

class FakeStream final : public http::Stream {
 public:
  bool write(std::string data) override;
  void close() override;
  bool closed() const override;
  void onClose(std::function<void()> callback) override;

  // The client goes away: closes and runs the close callbacks, as the server does.
  void disconnect();
  // The pieces written so far.
  std::vector<std::string> pieces() const;
  // Waits until at least `count` pieces were written or the stream closed; false on timeout.
  bool waitForPieces(std::size_t count, std::chrono::milliseconds timeout);

 private:
  void closeLocked(std::unique_lock<std::mutex>& lock);

  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::string> pieces_;
  std::vector<std::function<void()>> callbacks_;
  bool closed_ = false;
};

class FakeResponder final : public http::Responder {
 public:
  void respond(http::Response response) override;
  std::shared_ptr<http::Stream> startStream(int status, http::Headers headers) override;

  // Waits for respond() or startStream(); false on timeout.
  bool wait(std::chrono::milliseconds timeout);
  bool answered() const;
  // How many times respond()/startStream() were called (a handler must answer once).
  int answers() const;

  // The recorded answer. For a stream, status and headers come from startStream() and the
  // body is empty (read the pieces from stream()).
  http::Response response() const;
  std::shared_ptr<FakeStream> stream() const;

 private:
  mutable std::mutex mutex_;
  std::condition_variable answered_;
  int answers_ = 0;
  http::Response response_;
  std::shared_ptr<FakeStream> stream_;
};

// A request as the HTTP server hands it over: target split into path and query.
http::Request makeRequest(std::string method, std::string target, std::string body = {},
                          std::string contentType = {});

}  // namespace kite::testing
