#pragma once
// What a responder and a stream talk to: the connection serving their request. Every call
// may come from any thread; the connection hands the work to its own io strand. HTTP/2 will
// implement the same interface per stream, so Responder and Stream need not change.

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
  // Closes the connection at once (a stream overflowed its queue).
  virtual void abortConnection() = 0;
};

}  // namespace kite::http::detail
