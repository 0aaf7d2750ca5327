#include "watch_fanout.h"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <charconv>
#include <stdexcept>

namespace kite::bench {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

struct WatchFanout::Watcher : std::enable_shared_from_this<Watcher> {
  Watcher(WatchFanout& parent, asio::io_context& io, asio::ssl::context& tls)
      : owner(parent), stream(io, tls) {}

  WatchFanout& owner;
  beast::ssl_stream<beast::tcp_stream> stream;
  beast::flat_buffer buffer;
  http::request<http::empty_body> request;
  http::response_parser<http::empty_body> parser;
  std::string partial;  // bytes of a line not yet complete
  std::function<std::size_t(std::uint64_t, beast::string_view, beast::error_code&)> onBody;

  void fail() { owner.failed_.fetch_add(1); }

  void start(const asio::ip::tcp::resolver::results_type& endpoints) {
    auto self = shared_from_this();
    beast::get_lowest_layer(stream).async_connect(
        endpoints, [self](beast::error_code ec, const asio::ip::tcp::endpoint&) {
          if (ec) return self->fail();
          self->stream.async_handshake(asio::ssl::stream_base::client,
                                       [self](beast::error_code ec2) {
                                         if (ec2) return self->fail();
                                         self->send();
                                       });
        });
  }

  void send() {
    request = {http::verb::get, owner.target_, 11};
    request.set(http::field::host, owner.host_);
    request.set(http::field::accept, "application/json");
    request.set(http::field::user_agent, "kite-bench-apiserver");
    auto self = shared_from_this();
    http::async_write(stream, request, [self](beast::error_code ec, std::size_t) {
      if (ec) return self->fail();
      self->readHeader();
    });
  }

  void readHeader() {
    parser.body_limit(boost::none);
    // Chunk bytes arrive here instead of a body; lines are split as they complete.
    onBody = [this](std::uint64_t, beast::string_view body, beast::error_code&) {
      partial.append(body.data(), body.size());
      std::size_t begin = 0;
      for (std::size_t nl = partial.find('\n'); nl != std::string::npos;
           nl = partial.find('\n', begin)) {
        owner.onLine(std::string_view(partial).substr(begin, nl - begin));
        begin = nl + 1;
      }
      partial.erase(0, begin);
      return body.size();
    };
    parser.on_chunk_body(onBody);
    auto self = shared_from_this();
    http::async_read_header(stream, buffer, parser, [self](beast::error_code ec, std::size_t) {
      if (ec || self->parser.get().result_int() != 200) return self->fail();
      self->owner.open_.fetch_add(1);
      self->readBody();
    });
  }

  void readBody() {
    auto self = shared_from_this();
    http::async_read(stream, buffer, parser, [self](beast::error_code ec, std::size_t) {
      // The watch ended (server closed it or we stopped); only an early end is a failure.
      if (ec && ec != asio::error::operation_aborted) self->fail();
    });
  }
};

WatchFanout::WatchFanout(asio::ssl::context& tls, std::string host, std::string port,
                         std::string target, int watchers, int events, std::string namePrefix)
    : tls_(tls),
      host_(std::move(host)),
      port_(std::move(port)),
      target_(std::move(target)),
      events_(events),
      namePrefix_(std::move(namePrefix)),
      lastDelivery_(static_cast<std::size_t>(events)),
      deliveries_(static_cast<std::size_t>(events), 0) {
  watchers_.reserve(static_cast<std::size_t>(watchers));
  for (int i = 0; i < watchers; ++i) {
    watchers_.push_back(std::make_shared<Watcher>(*this, io_, tls_));
  }
}

WatchFanout::~WatchFanout() { stop(); }

void WatchFanout::onLine(std::string_view line) {
  // {"type":"ADDED","object":{...,"metadata":{"name":"fan-17",...
  if (line.substr(0, 16) != R"({"type":"ADDED",)") return;
  const std::string needle = "\"name\":\"" + namePrefix_;
  const auto at = line.find(needle);
  if (at == std::string_view::npos) return;
  const char* first = line.data() + at + needle.size();
  int index = -1;
  auto [p, ec] = std::from_chars(first, line.data() + line.size(), index);
  if (ec != std::errc() || *p != '"' || index < 0 || index >= events_) return;
  const auto i = static_cast<std::size_t>(index);
  deliveries_[i] += 1;
  lastDelivery_[i] = Clock::now();
  delivered_.fetch_add(1);
}

void WatchFanout::open(std::chrono::seconds timeout) {
  asio::ip::tcp::resolver resolver(io_);
  const auto endpoints = resolver.resolve(host_, port_);
  for (auto& w : watchers_) w->start(endpoints);
  thread_ = std::thread([this] {
    auto guard = asio::make_work_guard(io_);
    io_.run();
  });
  const auto deadline = Clock::now() + timeout;
  while (open_.load() + failed_.load() < watchers_.size() && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (open_.load() != watchers_.size()) {
    throw std::runtime_error("only " + std::to_string(open_.load()) + " of " +
                             std::to_string(watchers_.size()) + " watches opened (" +
                             std::to_string(failed_.load()) + " failed)");
  }
}

bool WatchFanout::waitAll(std::chrono::seconds timeout) {
  const std::size_t want = watchers_.size() * static_cast<std::size_t>(events_);
  const auto deadline = Clock::now() + timeout;
  while (delivered_.load() < want && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return delivered_.load() >= want;
}

void WatchFanout::stop() {
  if (!thread_.joinable()) return;
  io_.stop();
  thread_.join();
}

}  // namespace kite::bench
