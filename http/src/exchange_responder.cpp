#include "exchange_responder.h"

#include "exchange_sink.h"
#include "queued_stream.h"

namespace kite::http::detail {

ExchangeResponder::ExchangeResponder(std::weak_ptr<ExchangeSink> sink, std::uint64_t exchange,
                                     std::size_t streamLimit)
    : sink_(std::move(sink)), exchange_(exchange), streamLimit_(streamLimit) {}

ExchangeResponder::~ExchangeResponder() { failIfUnanswered(); }

void ExchangeResponder::respond(Response response) {
  if (answered_.exchange(true)) {
    return;  // only the first answer counts
  }
  if (auto sink = sink_.lock()) {
    sink->deliverResponse(exchange_, std::move(response));
  }
}

std::shared_ptr<Stream> ExchangeResponder::startStream(int status, Headers headers) {
  auto stream = std::make_shared<QueuedStream>(sink_, exchange_, streamLimit_);
  if (answered_.exchange(true)) {
    stream->finish();  // a second answer gets a stream that is already closed
    return stream;
  }
  auto sink = sink_.lock();
  if (!sink || !sink->deliverStreamStart(exchange_, stream, status, std::move(headers))) {
    stream->finish();  // the connection is gone: the stream is closed from the start
  }
  return stream;
}

std::shared_ptr<Tunnel> ExchangeResponder::upgrade(Response switching) {
  if (answered_.load()) {
    return nullptr;
  }
  auto sink = sink_.lock();
  if (!sink) {
    answered_ = true;
    return nullptr;
  }
  if (auto tunnel = sink->deliverUpgrade(exchange_, std::move(switching))) {
    answered_ = true;
    return tunnel;
  }
  return Responder::upgrade({});  // answers 400
}

void ExchangeResponder::failIfUnanswered() {
  if (answered_.load()) {
    return;
  }
  Response response;
  response.status = 500;
  response.headers.emplace_back("content-type", "text/plain; charset=utf-8");
  response.body = "internal server error: the request was not answered\n";
  respond(std::move(response));
}

}  // namespace kite::http::detail
