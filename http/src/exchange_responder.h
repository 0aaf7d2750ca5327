#pragma once
// The Responder handed to a handler: forwards its one answer to the connection. If every
// copy is dropped unanswered (a handler bug, or one that threw), the client gets a 500
// rather than a connection that hangs.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "kite/http/server.h"

namespace kite::http::detail {

class ExchangeSink;

class ExchangeResponder final : public Responder {
 public:
  ExchangeResponder(std::weak_ptr<ExchangeSink> sink, std::uint64_t exchange,
                    std::size_t streamLimit);
  ~ExchangeResponder() override;
  ExchangeResponder(const ExchangeResponder&) = delete;
  ExchangeResponder& operator=(const ExchangeResponder&) = delete;

  void respond(Response response) override;
  std::shared_ptr<Stream> startStream(int status, Headers headers) override;
  std::shared_ptr<Tunnel> upgrade(Response switching) override;

  // Answers 500 unless an answer was already given.
  void failIfUnanswered();

 private:
  const std::weak_ptr<ExchangeSink> sink_;
  const std::uint64_t exchange_;
  const std::size_t streamLimit_;
  std::atomic<bool> answered_{false};
};

}  // namespace kite::http::detail
