#pragma once
// A streamed (chunked) response body: writers on any thread queue pieces, the connection's
// io strand takes them. The queue counts bytes until they have left for the socket, so a
// client that reads too slowly shows up as a full queue rather than unbounded memory.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "kite/http/server.h"

namespace kite::http::detail {

class ExchangeSink;

class QueuedStream final : public Stream, public std::enable_shared_from_this<QueuedStream> {
 public:
  QueuedStream(std::weak_ptr<ExchangeSink> sink, std::uint64_t exchange, std::size_t limit);

  bool write(std::string data) override;
  void close() override;
  bool closed() const override;
  void onClose(std::function<void()> callback) override;

  // Connection side, from its io strand.
  // The exchange this stream answers (the HTTP/2 stream id).
  std::uint64_t exchange() const { return exchange_; }
  struct Batch {
    std::vector<std::string> pieces;
    bool end = false;  // close() was called: send the final chunk after the pieces
  };
  Batch take();
  // `bytes` of taken pieces have been written to the socket.
  void written(std::size_t bytes);
  // Closed for good (ended, connection gone, server stopping): runs the callbacks once.
  void finish();

 private:
  void postData();

  const std::weak_ptr<ExchangeSink> sink_;
  const std::uint64_t exchange_;
  const std::size_t limit_;
  mutable std::mutex mutex_;
  std::deque<std::string> queue_;
  std::size_t pendingBytes_ = 0;  // queued here or taken but not yet written to the socket
  bool closed_ = false;           // no more writes
  bool endRequested_ = false;
  bool endTaken_ = false;
  bool dataPosted_ = false;  // a deliverStreamData is on its way
  bool finished_ = false;
  std::vector<std::function<void()>> callbacks_;
};

}  // namespace kite::http::detail
