#pragma once
// What a responder and a stream talk to: the connection serving their request. Every call
// may come from any thread; the connection hands the work to its own io strand. The HTTP/1.1
// connection serves one exchange at a time; the HTTP/2 connection uses the stream id as the
// exchange, so Responder and Stream do not know which protocol carries them.

#include <cstdint>
#include <memory>

#include "kite/http/server.h"

namespace kite::http::detail {

class QueuedStream;

class ExchangeSink {
 public:
  virtual ~ExchangeSink() = default;
  // The answer to exchange `exchange` (ignored when the connection moved on or closed).
  virtual void deliverResponse(std::uint64_t exchange, Response response) = 0;
  // Starts a streamed answer. False when the server is stopping and the start can no longer
  // run; the caller then finishes the stream itself.
  virtual bool deliverStreamStart(std::uint64_t exchange, std::shared_ptr<QueuedStream> stream,
                                  int status, Headers headers) = 0;
  // The stream has queued pieces (or its end) to send.
  virtual void deliverStreamData(std::shared_ptr<QueuedStream> stream) = 0;
  // The stream's writer queued more than the limit (the client reads too slowly): drop it.
  // HTTP/1.1 closes the connection; HTTP/2 resets only that stream.
  virtual void streamOverflowed(std::shared_ptr<QueuedStream> stream) = 0;
  // Closes the connection at once (the server is stopping). HTTP/2 says GOAWAY first.
  virtual void abortConnection() = 0;
  // Answers with `switching` (101) and hands the byte stream to the returned tunnel. Null
  // where the protocol has no upgrades (HTTP/2); the caller then refuses the request.
  virtual std::shared_ptr<Tunnel> deliverUpgrade(std::uint64_t /*exchange*/,
                                                 Response /*switching*/) {  // NOLINT
    return nullptr;
  }
};

}  // namespace kite::http::detail
